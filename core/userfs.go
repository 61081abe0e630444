package core

import (
	"errors"
	"fmt"
	"os"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// withMounts opens the user's home with openHome (the local disk or
// object storage) and mounts the user's virtual folders (local
// directories) in it. A user with folder rules gets a writable home: the
// rules decide (a read-only account's home rule is then list,download).
func withMounts(u store.User, openHome func(store.User, bool) (vfs.FS, error)) (vfs.FS, error) {
	ro := u.ReadOnly && len(u.Rules) == 0
	home, err := openHome(u, ro)
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
