package core

import (
	"errors"
	"fmt"
	"os"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// openLocal is the default Options.OpenFS: the user's home on the local
// disk with the user's virtual folders mounted in it. A user with folder
// rules gets a writable home: the rules decide (a read-only account's
// home rule is then list,download).
func openLocal(u store.User) (vfs.FS, error) {
	ro := u.ReadOnly && len(u.Rules) == 0
	home, err := vfs.NewLocal(u.Home, ro)
	if err != nil {
		return nil, err
	}
	var mounts []vfs.Mounted
	fail := func(err error) (vfs.FS, error) {
		for _, m := range mounts {
			m.FS.Close()
		}
		return nil, errors.Join(err, home.Close())
	}
	for _, m := range u.Mounts {
		p, err := RulePath(m.Path)
		if err != nil {
			return fail(err)
		}
		// A mounted folder must exist: NewLocal would create it.
		if fi, err := os.Stat(m.Dir); err != nil || !fi.IsDir() {
			return fail(fmt.Errorf("virtual folder %s: %s is not a directory", p, m.Dir))
		}
		f, err := vfs.NewLocal(m.Dir, ro || m.ReadOnly)
		if err != nil {
			return fail(err)
		}
		mounts = append(mounts, vfs.Mounted{Path: p, FS: f})
	}
	fsys, err := vfs.NewMounts(home, mounts)
	if err != nil {
		return fail(err)
	}
	return fsys, nil
}
