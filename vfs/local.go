package vfs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"
)

// local is the backend on the server's disk: every path is resolved
// through an os.Root opened on the home, so neither "..", an absolute
// path nor a symbolic link can leave it.
type local struct {
	root     *os.Root
	readOnly bool
}

// NewLocal opens home (creating it if missing) as the root of a user's
// files on the local disk.
func NewLocal(home string, readOnly bool) (FS, error) {
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
	captureEscape(r)
	return &local{root: r, readOnly: readOnly}, nil
}

// escapeErr is os.Root's refusal of a path that leaves the root. The os
// package does not export it, so it is captured once from a path that is
// always refused ("..", rejected before any system call) and recognised
// by identity, never by its text.
var (
	escapeOnce sync.Once
	escapeErr  error
)

func captureEscape(r *os.Root) {
	escapeOnce.Do(func() {
		_, err := r.Lstat("..")
		var pe *fs.PathError
		if errors.As(err, &pe) {
			escapeErr = pe.Err
		}
	})
}

// kind is the one place where an error of the os package becomes the vfs
// error that names it. An error with no name keeps its innermost cause,
// without the wrappers that carry server paths.
func kind(err error) error {
	if escapeErr != nil && errors.Is(err, escapeErr) {
		return ErrEscape
	}
	if k := sysKind(err); k != nil {
		return k
	}
	for _, k := range []error{fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrClosed} {
		if errors.Is(err, k) {
			return k
		}
	}
	for {
		switch e := err.(type) {
		case *fs.PathError:
			err = e.Err
		case *os.LinkError:
			err = e.Err
		case *os.SyscallError:
			err = e.Err
		default:
			return err
		}
	}
}

// fail translates an os error for the virtual path p.
func fail(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return pathErr(op, p, kind(err))
}

func (l *local) ReadOnly() bool { return l.readOnly }
func (l *local) Close() error   { return l.root.Close() }

func (l *local) writable(op, p string) (string, error) {
	if l.readOnly {
		return "", pathErr(op, p, ErrReadOnly)
	}
	return rel(op, p)
}

func (l *local) Stat(p string) (fs.FileInfo, error) {
	name, err := rel("stat", p)
	if err != nil {
		return nil, err
	}
	fi, err := l.root.Stat(name)
	if err != nil {
		return nil, fail("stat", p, err)
	}
	return fi, nil
}

func (l *local) Lstat(p string) (fs.FileInfo, error) {
	name, err := rel("lstat", p)
	if err != nil {
		return nil, err
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return nil, fail("lstat", p, err)
	}
	return fi, nil
}

func (l *local) ReadDir(p string) (Lister, error) {
	name, err := rel("readdir", p)
	if err != nil {
		return nil, err
	}
	d, err := l.root.Open(name)
	if err != nil {
		return nil, fail("readdir", p, err)
	}
	if fi, err := d.Stat(); err != nil || !fi.IsDir() {
		d.Close()
		if err == nil {
			return nil, pathErr("readdir", p, ErrNotDir)
		}
		return nil, fail("readdir", p, err)
	}
	return &localLister{d: d, p: p}, nil
}

// listBatch is the batch a Lister reads when the caller names none.
const listBatch = 256

// localLister reads a directory with the kernel's own batching
// (getdents), in directory order: nothing sorts or holds the whole.
type localLister struct {
	d   *os.File
	p   string
	err error // kept when a read returned entries and an error together
}

func (ls *localLister) Next(n int) ([]fs.FileInfo, error) {
	if n <= 0 {
		n = listBatch
	}
	for ls.err == nil {
		ents, err := ls.d.ReadDir(n)
		if err != nil {
			ls.err = err
		}
		infos := make([]fs.FileInfo, 0, len(ents))
		for _, e := range ents {
			if reserved(e.Name()) {
				continue
			}
			if fi, err := e.Info(); err == nil { // else removed while listed
				infos = append(infos, fi)
			}
		}
		if len(infos) > 0 {
			return infos, nil
		}
	}
	if ls.err == io.EOF {
		return nil, io.EOF
	}
	return nil, fail("readdir", ls.p, ls.err)
}

func (ls *localLister) Close() error { return fail("readdir", ls.p, ls.d.Close()) }

func (l *local) Open(p string) (File, error) {
	name, err := rel("open", p)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(name)
	if err != nil {
		return nil, fail("open", p, err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = fail("open", p, err)
	case fi.IsDir():
		err = pathErr("open", p, ErrIsDir)
	case !fi.Mode().IsRegular():
		err = pathErr("open", p, fs.ErrPermission)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &localFile{f: f, p: p}, nil
}

// localFile is a download. It has no WriteTo: BenchmarkCopy and
// bench/ftp.sh measured sendfile(2) slower than a 1 MiB buffered copy
// for downloads over loopback, so copies take the buffered path.
type localFile struct {
	f *os.File
	p string
}

func (f *localFile) Read(b []byte) (int, error) {
	n, err := f.f.Read(b)
	if err != nil && err != io.EOF {
		err = fail("read", f.p, err)
	}
	return n, err
}

func (f *localFile) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(b, off)
	if err != nil && err != io.EOF {
		err = fail("read", f.p, err)
	}
	return n, err
}

func (f *localFile) Seek(off int64, whence int) (int64, error) {
	n, err := f.f.Seek(off, whence)
	return n, fail("seek", f.p, err)
}

func (f *localFile) Stat() (fs.FileInfo, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return nil, fail("stat", f.p, err)
	}
	return fi, nil
}

func (f *localFile) Close() error { return fail("close", f.p, f.f.Close()) }

// tempPrefix starts the names of uploads in progress inside TempDir.
const tempPrefix = "upload-"

// errTempNotDir stops uploads into a home whose TempDir is not a plain
// directory (a link or a file put there on the disk): the administrator
// has to remove it.
var errTempNotDir = errors.New(TempDir + " in the home is not a directory; remove it")

// tempDir makes sure TempDir is a directory of the home's own.
func (l *local) tempDir() error {
	err := l.root.Mkdir(TempDir, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := l.root.Lstat(TempDir)
	if err == nil && !fi.IsDir() {
		err = errTempNotDir
	}
	return err
}

func (l *local) Create(p string) (Upload, error) {
	final, err := l.writable("create", p)
	if err != nil {
		return nil, err
	}
	if final == "." {
		return nil, pathErr("create", p, ErrIsDir)
	}
	// Refuse now what the rename would refuse at the end of the transfer.
	if fi, err := l.root.Stat(final); err == nil && fi.IsDir() {
		return nil, pathErr("create", p, ErrIsDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fail("create", p, err)
	}
	if dir := path.Dir(final); dir != "." {
		fi, err := l.root.Stat(dir)
		if err != nil {
			return nil, fail("create", p, err)
		}
		if !fi.IsDir() {
			return nil, pathErr("create", p, ErrNotDir)
		}
	}
	if err := l.tempDir(); err != nil {
		return nil, fail("create", p, err)
	}
	tmp := TempDir + "/" + tempPrefix + rand.Text()
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fail("create", p, err)
	}
	return &localUpload{f: f, l: l, p: p, tmp: tmp, final: final}, nil
}

func (l *local) OpenAt(p string, offset int64) (Upload, error) {
	name, err := l.writable("resume", p)
	if err != nil {
		return nil, err
	}
	flags := os.O_WRONLY
	if offset <= 0 {
		flags |= os.O_CREATE
	}
	f, err := l.root.OpenFile(name, flags, 0o644)
	if offset > 0 && errors.Is(err, fs.ErrNotExist) {
		return nil, pathErr("resume", p, ErrBadOffset)
	}
	if err != nil {
		return nil, fail("resume", p, err)
	}
	fi, err := f.Stat()
	var bad error
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		bad = fs.ErrPermission
	case offset < 0:
		_, err = f.Seek(0, io.SeekEnd)
	case offset > fi.Size():
		bad = ErrBadOffset
	default:
		if err = f.Truncate(offset); err == nil {
			_, err = f.Seek(offset, io.SeekStart)
		}
	}
	if err != nil || bad != nil {
		f.Close()
		if bad != nil {
			return nil, pathErr("resume", p, bad)
		}
		return nil, fail("resume", p, err)
	}
	return &localUpload{f: f, l: l, p: p}, nil
}

func (l *local) OpenRandom(p string) (Upload, error) {
	name, err := l.writable("open", p)
	if err != nil {
		return nil, err
	}
	f, err := l.root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fail("open", p, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, fail("open", p, err)
		}
		return nil, pathErr("open", p, fs.ErrPermission)
	}
	return &localUpload{f: f, l: l, p: p}, nil
}

func (l *local) Mkdir(p string) error {
	name, err := l.writable("mkdir", p)
	if err != nil {
		return err
	}
	return fail("mkdir", p, l.root.Mkdir(name, 0o755))
}

func (l *local) Remove(p string) error {
	name, err := l.writable("remove", p)
	if err != nil {
		return err
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return fail("remove", p, err)
	}
	if fi.IsDir() {
		return pathErr("remove", p, ErrIsDir)
	}
	return fail("remove", p, l.root.Remove(name))
}

func (l *local) Rmdir(p string) error {
	name, err := l.writable("rmdir", p)
	if err != nil {
		return err
	}
	if name == "." {
		return pathErr("rmdir", p, fs.ErrPermission)
	}
	fi, err := l.root.Lstat(name)
	if err != nil {
		return fail("rmdir", p, err)
	}
	if !fi.IsDir() {
		return pathErr("rmdir", p, ErrNotDir)
	}
	err = fail("rmdir", p, l.root.Remove(name))
	if errors.Is(err, fs.ErrExist) { // POSIX lets rmdir say EEXIST for a non-empty directory
		err = pathErr("rmdir", p, ErrNotEmpty)
	}
	return err
}

func (l *local) Rename(oldp, newp string) error {
	o, err := l.writable("rename", oldp)
	if err != nil {
		return err
	}
	n, err := rel("rename", newp)
	if err != nil {
		return err
	}
	if o == "." || n == "." {
		return pathErr("rename", oldp, fs.ErrPermission)
	}
	if _, err := l.root.Lstat(o); err != nil {
		return fail("rename", oldp, err)
	}
	return fail("rename", oldp, l.root.Rename(o, n))
}

func (l *local) Chtimes(p string, mtime time.Time) error {
	name, err := l.writable("chtimes", p)
	if err != nil {
		return err
	}
	return fail("chtimes", p, l.root.Chtimes(name, mtime, mtime))
}

func (l *local) Chmod(p string, mode fs.FileMode) error {
	name, err := l.writable("chmod", p)
	if err != nil {
		return err
	}
	return fail("chmod", p, l.root.Chmod(name, mode&fs.ModePerm))
}

func (l *local) Truncate(p string, size int64) error {
	name, err := l.writable("truncate", p)
	if err != nil {
		return err
	}
	f, err := l.root.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return fail("truncate", p, err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return fail("truncate", p, err)
}

func (l *local) Readlink(p string) (string, error) {
	name, err := rel("readlink", p)
	if err != nil {
		return "", err
	}
	t, err := l.root.Readlink(name)
	return t, fail("readlink", p, err)
}

func (l *local) Symlink(target, p string) error {
	name, err := l.writable("symlink", p)
	if err != nil {
		return err
	}
	if err := checkLinkTarget(l, p, target); err != nil {
		return pathErr("symlink", p, err)
	}
	return fail("symlink", p, l.root.Symlink(target, name))
}

func (l *local) Link(oldp, newp string) error {
	o, err := l.writable("link", oldp)
	if err != nil {
		return err
	}
	n, err := rel("link", newp)
	if err != nil {
		return err
	}
	if n == "." {
		return pathErr("link", newp, fs.ErrExist)
	}
	fi, err := l.root.Lstat(o)
	if err != nil {
		return fail("link", oldp, err)
	}
	if fi.IsDir() {
		return pathErr("link", oldp, ErrIsDir)
	}
	return fail("link", newp, l.root.Link(o, n))
}

// lmode and readlink serve checkLinkTarget.
func (l *local) lmode(rel string) (fs.FileMode, error) {
	fi, err := l.root.Lstat(rel)
	if err != nil {
		return 0, kind(err)
	}
	return fi.Mode(), nil
}

func (l *local) readlink(rel string) (string, error) {
	t, err := l.root.Readlink(rel)
	if err != nil {
		return "", kind(err)
	}
	return t, nil
}
