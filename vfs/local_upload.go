package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// localUpload writes to a temporary file in TempDir (tmp set), renamed
// over the final name on Commit, or in place.
type localUpload struct {
	f     *os.File
	l     *local
	p     string
	tmp   string
	final string
	err   error // the first write error
	done  bool
}

func (u *localUpload) usable() error {
	if u.done {
		return pathErr("write", u.p, fs.ErrClosed)
	}
	return u.err
}

// failed translates a write error and remembers the first one.
func (u *localUpload) failed(op string, err error) error {
	err = fail(op, u.p, err)
	if u.err == nil {
		u.err = err
	}
	return err
}

func (u *localUpload) Write(b []byte) (int, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	n, err := u.f.Write(b)
	if err != nil {
		return n, u.failed("write", err)
	}
	return n, nil
}

func (u *localUpload) WriteAt(b []byte, off int64) (int, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	n, err := u.f.WriteAt(b, off)
	if err != nil {
		return n, u.failed("write", err)
	}
	return n, nil
}

// ReadFrom is the upload fast path: os.File's ReadFrom moves a TCP
// socket's bytes into the file with splice(2) on Linux, without a copy
// through user space, which bench/ftp.sh and BenchmarkCopy measured
// faster than a buffered copy. An error of the storage is remembered like
// a failed Write; an error of the source is returned without its file
// wrapper.
func (u *localUpload) ReadFrom(r io.Reader) (int64, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	n, err := u.f.ReadFrom(r)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(sysKind(err), ErrIO):
		return n, u.failed("write", err)
	}
	return n, kind(err)
}

func (u *localUpload) ReadAt(b []byte, off int64) (int, error) {
	n, err := u.f.ReadAt(b, off)
	if err != nil && err != io.EOF {
		err = fail("read", u.p, err)
	}
	return n, err
}

func (u *localUpload) Stat() (fs.FileInfo, error) {
	fi, err := u.f.Stat()
	if err != nil {
		return nil, fail("stat", u.p, err)
	}
	return fi, nil
}

func (u *localUpload) Truncate(size int64) error {
	if err := u.usable(); err != nil {
		return err
	}
	if err := u.f.Truncate(size); err != nil {
		return u.failed("truncate", err)
	}
	return nil
}

func (u *localUpload) Chmod(mode fs.FileMode) error {
	return fail("chmod", u.p, u.f.Chmod(mode&fs.ModePerm))
}

func (u *localUpload) Sync() error {
	if err := u.usable(); err != nil {
		return err
	}
	if err := u.f.Sync(); err != nil {
		return u.failed("sync", err)
	}
	return nil
}

func (u *localUpload) Commit() error {
	if u.done {
		return pathErr("commit", u.p, fs.ErrClosed)
	}
	u.done = true
	err := u.err
	if cerr := u.f.Close(); err == nil && cerr != nil {
		err = fail("close", u.p, cerr)
	}
	if u.tmp == "" {
		return err
	}
	if err == nil {
		if err = u.l.root.Rename(u.tmp, u.final); err == nil {
			return nil
		}
		err = fail("rename", u.p, err)
	}
	u.l.root.Remove(u.tmp)
	return err
}

func (u *localUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	err := u.f.Close()
	if u.tmp != "" {
		if rerr := u.l.root.Remove(u.tmp); err == nil {
			err = rerr
		}
	}
	return fail("abort", u.p, err)
}
