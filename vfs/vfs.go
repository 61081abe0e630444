package vfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// ErrReadOnly is returned for a write by a read-only user.
var ErrReadOnly = fmt.Errorf("read-only account: %w", fs.ErrPermission)

// tempPrefix marks uploads in progress; such names are hidden from listings.
const tempPrefix = ".ferry-upload-"

// FS is one user's view of the disk, rooted at the home directory. It is
// safe for concurrent use.
type FS struct {
	root     *os.Root
	readOnly bool
}

// New opens home (creating it if missing) as the root of a user's FS.
func New(home string, readOnly bool) (*FS, error) {
	if home == "" {
		return nil, errors.New("vfs: empty home directory")
	}
	if err := os.MkdirAll(home, 0o750); err != nil {
		return nil, fmt.Errorf("vfs: create home: %w", err)
	}
	r, err := os.OpenRoot(home)
	if err != nil {
		return nil, fmt.Errorf("vfs: open home: %w", err)
	}
	return &FS{root: r, readOnly: readOnly}, nil
}

// Close releases the home directory.
func (f *FS) Close() error { return f.root.Close() }

// ReadOnly reports whether writes are refused.
func (f *FS) ReadOnly() bool { return f.readOnly }

// Clean resolves name against the working directory cwd and returns an
// absolute virtual path ("/" is the home). ".." never climbs above "/".
func Clean(cwd, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = path.Join("/", cwd, name)
	}
	return path.Clean("/" + name)
}

// rel maps a virtual path to a name relative to the root.
func rel(p string) string {
	p = strings.TrimPrefix(Clean("/", p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (f *FS) writable() error {
	if f.readOnly {
		return ErrReadOnly
	}
	return nil
}

// Stat follows symbolic links (inside the home only).
func (f *FS) Stat(p string) (fs.FileInfo, error) { return f.root.Stat(rel(p)) }

// Lstat does not follow a final symbolic link.
func (f *FS) Lstat(p string) (fs.FileInfo, error) { return f.root.Lstat(rel(p)) }

// ReadDir lists a directory sorted by name, hiding uploads in progress.
// Entries are Lstat'ed: a symbolic link shows as a link.
func (f *FS) ReadDir(p string) ([]fs.FileInfo, error) {
	d, err := f.root.Open(rel(p))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed while we listed
		}
		infos = append(infos, fi)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
	return infos, nil
}

// Open opens a regular file for reading.
func (f *FS) Open(p string) (*os.File, error) {
	file, err := f.root.Open(rel(p))
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("not a regular file")}
	}
	return file, nil
}

// Upload is a file being written. Write to File; then Commit to publish
// it, or Abort to discard it. Both close the file.
type Upload struct {
	File  *os.File
	fs    *FS
	tmp   string // "" when writing in place
	final string
	done  bool
}

// Create starts an atomic upload to p: the data goes to a hidden temporary
// file beside p and replaces p only on Commit.
func (f *FS) Create(p string) (*Upload, error) {
	if err := f.writable(); err != nil {
		return nil, err
	}
	final := rel(p)
	if final == "." {
		return nil, &fs.PathError{Op: "create", Path: p, Err: fs.ErrInvalid}
	}
	if fi, err := f.root.Stat(final); err == nil && fi.IsDir() {
		return nil, &fs.PathError{Op: "create", Path: p, Err: errors.New("is a directory")}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(final), tempPrefix+hex.EncodeToString(rnd[:]))
	file, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &Upload{File: file, fs: f, tmp: tmp, final: final}, nil
}

// OpenAt opens p for writing in place at offset, creating it if missing:
// the resume of an interrupted upload. The file is cut at offset first, so
// the client's data replaces whatever followed. offset < 0 appends.
func (f *FS) OpenAt(p string, offset int64) (*Upload, error) {
	if err := f.writable(); err != nil {
		return nil, err
	}
	name := rel(p)
	file, err := f.root.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fi, err := file.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil {
		switch {
		case offset < 0:
			_, err = file.Seek(0, io.SeekEnd)
		case offset > fi.Size():
			err = fmt.Errorf("resume offset %d is beyond the file's size %d", offset, fi.Size())
		default:
			if err = file.Truncate(offset); err == nil {
				_, err = file.Seek(offset, io.SeekStart)
			}
		}
	}
	if err != nil {
		file.Close()
		return nil, &fs.PathError{Op: "resume", Path: p, Err: err}
	}
	return &Upload{File: file, fs: f, final: name}, nil
}

// OpenRandom opens p for writes at any offset (SFTP), in place and without
// truncation, creating it if missing.
func (f *FS) OpenRandom(p string) (*Upload, error) {
	if err := f.writable(); err != nil {
		return nil, err
	}
	file, err := f.root.OpenFile(rel(p), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &Upload{File: file, fs: f, final: rel(p)}, nil
}

// Commit closes the file and, for an atomic upload, renames it into place.
func (u *Upload) Commit() error {
	if u.done {
		return nil
	}
	u.done = true
	if err := u.File.Close(); err != nil {
		if u.tmp != "" {
			u.fs.root.Remove(u.tmp)
		}
		return err
	}
	if u.tmp == "" {
		return nil
	}
	if err := u.fs.root.Rename(u.tmp, u.final); err != nil {
		u.fs.root.Remove(u.tmp)
		return err
	}
	return nil
}

// Abort closes the file and discards an atomic upload. Data already written
// in place (a resume) is kept: the next resume continues from it.
func (u *Upload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	err := u.File.Close()
	if u.tmp != "" {
		if rerr := u.fs.root.Remove(u.tmp); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// Mkdir creates a directory.
func (f *FS) Mkdir(p string) error {
	if err := f.writable(); err != nil {
		return err
	}
	return f.root.Mkdir(rel(p), 0o755)
}

// Remove deletes a file (or a symbolic link); directories are refused.
func (f *FS) Remove(p string) error {
	if err := f.writable(); err != nil {
		return err
	}
	fi, err := f.root.Lstat(rel(p))
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return &fs.PathError{Op: "remove", Path: p, Err: errors.New("is a directory")}
	}
	return f.root.Remove(rel(p))
}

// Rmdir deletes an empty directory; the home itself cannot be removed.
func (f *FS) Rmdir(p string) error {
	if err := f.writable(); err != nil {
		return err
	}
	name := rel(p)
	if name == "." {
		return &fs.PathError{Op: "rmdir", Path: p, Err: fs.ErrPermission}
	}
	fi, err := f.root.Lstat(name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "rmdir", Path: p, Err: errors.New("not a directory")}
	}
	return f.root.Remove(name)
}

// Rename moves oldp to newp, replacing a file at newp.
func (f *FS) Rename(oldp, newp string) error {
	if err := f.writable(); err != nil {
		return err
	}
	o, n := rel(oldp), rel(newp)
	if o == "." || n == "." {
		return &fs.PathError{Op: "rename", Path: oldp, Err: fs.ErrPermission}
	}
	if _, err := f.root.Lstat(o); err != nil {
		return err
	}
	return f.root.Rename(o, n)
}

// Chtimes sets a file's modification time.
func (f *FS) Chtimes(p string, mtime time.Time) error {
	if err := f.writable(); err != nil {
		return err
	}
	return f.root.Chtimes(rel(p), mtime, mtime)
}

// Chmod changes permission bits (SFTP setstat); only the 0777 bits.
func (f *FS) Chmod(p string, mode fs.FileMode) error {
	if err := f.writable(); err != nil {
		return err
	}
	return f.root.Chmod(rel(p), mode&fs.ModePerm)
}

// Truncate sets a file's size (SFTP setstat).
func (f *FS) Truncate(p string, size int64) error {
	if err := f.writable(); err != nil {
		return err
	}
	file, err := f.root.OpenFile(rel(p), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = file.Truncate(size)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

// Readlink returns a symbolic link's target.
func (f *FS) Readlink(p string) (string, error) { return f.root.Readlink(rel(p)) }

// Symlink creates a symbolic link; the target must be a relative path that
// stays inside the home.
func (f *FS) Symlink(target, p string) error {
	if err := f.writable(); err != nil {
		return err
	}
	if path.IsAbs(target) {
		return &fs.PathError{Op: "symlink", Path: p, Err: errors.New("absolute link targets are not allowed")}
	}
	relDir := strings.TrimPrefix(path.Dir(Clean("/", p)), "/")
	if r := path.Join(relDir, target); r == ".." || strings.HasPrefix(r, "../") {
		return &fs.PathError{Op: "symlink", Path: p, Err: fs.ErrPermission}
	}
	return f.root.Symlink(target, rel(p))
}
