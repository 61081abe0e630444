package core

import (
	"io"
	"io/fs"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// permFS enforces a user's folder rules (Rules) on every operation of
// every protocol: a refusal is vfs.ErrNotAllowed, checked before the
// storage is touched where the answer does not depend on what is there,
// and logged as a refused event with the right that was missing.
//
// Files in a folder without list and download rights are not described:
// Stat and Lstat refuse them (a missing name is still fs.ErrNotExist, so
// that an upload of a new name goes ahead); listings of a folder without
// the list right are empty. Directories always answer Stat, so that a
// client can change into a drop box.
type permFS struct {
	vfs.FS
	rules  *Rules
	refuse func(path, reason string)
}

// deny returns the error of an operation op on p that needs want, or nil
// when the rights at p grant it.
func (f permFS) deny(op, p string, want Rights) error {
	have := f.rules.At(p)
	if have&want == want {
		return nil
	}
	f.refuse(p, "no "+(want&^have).String()+" right")
	return &fs.PathError{Op: op, Path: p, Err: vfs.ErrNotAllowed}
}

func (f permFS) exists(p string) bool {
	_, err := f.FS.Lstat(p)
	return err == nil
}

// ReadOnly reports whether no folder grants a change.
func (f permFS) ReadOnly() bool {
	return f.FS.ReadOnly() || f.rules.any()&^ReadRights == 0
}

func (f permFS) stat(p string, fi fs.FileInfo, err error) (fs.FileInfo, error) {
	if err == nil && !fi.IsDir() && f.rules.At(p)&ReadRights == 0 {
		return nil, f.deny("stat", p, RightList)
	}
	return fi, err
}

func (f permFS) Stat(p string) (fs.FileInfo, error) {
	fi, err := f.FS.Stat(p)
	return f.stat(p, fi, err)
}

func (f permFS) Lstat(p string) (fs.FileInfo, error) {
	fi, err := f.FS.Lstat(p)
	return f.stat(p, fi, err)
}

// ReadDir of a folder without the list right is empty (a drop box shows
// nothing, not even what its user put there); the refusal is logged.
func (f permFS) ReadDir(p string) (vfs.Lister, error) {
	if f.rules.At(p)&RightList == 0 {
		fi, err := f.FS.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, &fs.PathError{Op: "readdir", Path: p, Err: vfs.ErrNotDir}
		}
		f.refuse(p, "no list right: listing shown empty")
		return emptyLister{}, nil
	}
	return f.FS.ReadDir(p)
}

type emptyLister struct{}

func (emptyLister) Next(int) ([]fs.FileInfo, error) { return nil, io.EOF }
func (emptyLister) Close() error                    { return nil }

func (f permFS) Open(p string) (vfs.File, error) {
	if err := f.deny("open", p, RightDownload); err != nil {
		return nil, err
	}
	return f.FS.Open(p)
}

// write checks a write to p: upload for a new file, overwrite for an
// existing one.
func (f permFS) write(op, p string) error {
	if f.exists(p) {
		return f.deny(op, p, RightOverwrite)
	}
	return f.deny(op, p, RightUpload)
}

func (f permFS) Create(p string) (vfs.Upload, error) {
	if err := f.write("create", p); err != nil {
		return nil, err
	}
	return f.FS.Create(p)
}

// OpenAt resumes or appends: into an existing file that is an overwrite.
func (f permFS) OpenAt(p string, offset int64) (vfs.Upload, error) {
	if err := f.write("open", p); err != nil {
		return nil, err
	}
	return f.FS.OpenAt(p, offset)
}

// OpenRandom gives an upload that can read back: without the download
// right its reads are refused.
func (f permFS) OpenRandom(p string) (vfs.Upload, error) {
	if err := f.write("open", p); err != nil {
		return nil, err
	}
	up, err := f.FS.OpenRandom(p)
	if err != nil || f.rules.At(p)&RightDownload != 0 {
		return up, err
	}
	return writeOnly{up, p, f.refuse}, nil
}

type writeOnly struct {
	vfs.Upload
	p      string
	refuse func(path, reason string)
}

func (w writeOnly) ReadAt([]byte, int64) (int, error) {
	w.refuse(w.p, "no download right")
	return 0, &fs.PathError{Op: "read", Path: w.p, Err: vfs.ErrNotAllowed}
}

func (f permFS) Mkdir(p string) error {
	if err := f.deny("mkdir", p, RightMkdir); err != nil {
		return err
	}
	return f.FS.Mkdir(p)
}

func (f permFS) Remove(p string) error {
	if err := f.deny("remove", p, RightDelete); err != nil {
		return err
	}
	return f.FS.Remove(p)
}

func (f permFS) Rmdir(p string) error {
	if err := f.deny("rmdir", p, RightDelete); err != nil {
		return err
	}
	return f.FS.Rmdir(p)
}

// Rename needs the rename right at oldp and the right to write newp. A
// folder that holds folders with rules of their own is not moved: its
// content would leave their rules.
func (f permFS) Rename(oldp, newp string) error {
	if err := f.deny("rename", oldp, RightRename); err != nil {
		return err
	}
	if err := f.write("rename", newp); err != nil {
		return err
	}
	if fi, err := f.FS.Lstat(oldp); err == nil && fi.IsDir() && (f.rules.below(oldp) || f.rules.below(newp)) {
		f.refuse(oldp, "folder holds folders with rules of their own")
		return &fs.PathError{Op: "rename", Path: oldp, Err: vfs.ErrNotAllowed}
	}
	return f.FS.Rename(oldp, newp)
}

func (f permFS) Chtimes(p string, mtime time.Time) error {
	if err := f.deny("chtimes", p, RightOverwrite); err != nil {
		return err
	}
	return f.FS.Chtimes(p, mtime)
}

func (f permFS) Chmod(p string, mode fs.FileMode) error {
	if err := f.deny("chmod", p, RightOverwrite); err != nil {
		return err
	}
	return f.FS.Chmod(p, mode)
}

func (f permFS) Truncate(p string, size int64) error {
	if err := f.deny("truncate", p, RightOverwrite); err != nil {
		return err
	}
	return f.FS.Truncate(p, size)
}

func (f permFS) Readlink(p string) (string, error) {
	if err := f.deny("readlink", p, RightList); err != nil {
		return "", err
	}
	return f.FS.Readlink(p)
}

// Symlink is refused under folder rules: the link's rights would apply to
// whatever its target reaches, through other links, as the operating
// system resolves it.
func (f permFS) Symlink(_, p string) error {
	f.refuse(p, "symbolic links are not allowed under folder rules")
	return &fs.PathError{Op: "symlink", Path: p, Err: vfs.ErrNotAllowed}
}

// Link needs the upload right at newp and the download right at oldp, and
// oldp must grant overwrite if newp does: a hard link is the same content
// under the rights of its new folder.
func (f permFS) Link(oldp, newp string) error {
	if err := f.deny("link", newp, RightUpload); err != nil {
		return err
	}
	want := RightDownload | f.rules.At(newp)&RightOverwrite
	if err := f.deny("link", oldp, want); err != nil {
		return err
	}
	return f.FS.Link(oldp, newp)
}

// StatFS and Mounted pass through to the storage.
func (f permFS) StatFS() (vfs.Usage, error) { return vfs.StatFS(f.FS) }
func (f permFS) Mounted(p string) bool      { return vfs.IsMounted(f.FS, p) }
