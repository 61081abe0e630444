package client

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// sftpErr classifies an SFTP failure: a status from the server is a
// refusal; a lost session is a connection failure.
func sftpErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var se *sftp.StatusError
	kind := ErrConnect
	if errors.As(err, &se) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, errShortRead) {
		kind = ErrRemote
	}
	return withKind(kind, fmt.Errorf("sftp: %s %s: %w", op, p, err))
}

func toEntry(fi fs.FileInfo) Entry {
	m := fi.Mode()
	e := Entry{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime(), Dir: fi.IsDir()}
	switch {
	case m&fs.ModeSymlink != 0:
		e.Link, e.Size = true, 0
	case !m.IsDir() && !m.IsRegular():
		e.Special = true
	}
	return e
}

func (s *sftpConn) List(p string) ([]Entry, error) {
	fis, err := s.c.ReadDir(p)
	if err != nil {
		return nil, sftpErr("list", p, err)
	}
	out := make([]Entry, 0, len(fis))
	for _, fi := range fis {
		out = append(out, toEntry(fi))
	}
	return out, nil
}

// Stat follows a symbolic link, as every protocol's Stat does.
func (s *sftpConn) Stat(p string) (Entry, error) {
	fi, err := s.c.Stat(p)
	if err != nil {
		return Entry{}, sftpErr("stat", p, err)
	}
	return toEntry(fi), nil
}

func (s *sftpConn) Open(p string, offset int64) (io.ReadCloser, error) {
	f, err := s.c.Open(p)
	if err != nil {
		return nil, sftpErr("open", p, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, sftpErr("seek", p, err)
	}
	return f, nil
}

func (s *sftpConn) Create(p string, offset int64) (io.WriteCloser, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if offset > 0 {
		flags = os.O_WRONLY
	}
	f, err := s.c.OpenFile(p, flags)
	if err != nil {
		return nil, sftpErr("create", p, err)
	}
	if offset > 0 {
		// Continue exactly where the partial file ends, never past it.
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, sftpErr("truncate", p, err)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, sftpErr("seek", p, err)
		}
	}
	return f, nil
}

func (s *sftpConn) Remove(p string) error    { return sftpErr("rm", p, s.c.Remove(p)) }
func (s *sftpConn) RemoveDir(p string) error { return sftpErr("rmdir", p, s.c.RemoveDirectory(p)) }
func (s *sftpConn) Mkdir(p string) error     { return sftpErr("mkdir", p, s.c.Mkdir(p)) }

func (s *sftpConn) Rename(from, to string) error {
	if _, ok := s.c.HasExtension("posix-rename@openssh.com"); ok {
		return sftpErr("mv", from, s.c.PosixRename(from, to))
	}
	return sftpErr("mv", from, s.c.Rename(from, to))
}

// replace renames over an existing file: posix-rename@openssh.com, or
// remove and rename.
func (s *sftpConn) replace(from, to string) error {
	if _, ok := s.c.HasExtension("posix-rename@openssh.com"); ok {
		return sftpErr("mv", from, s.c.PosixRename(from, to))
	}
	if err := s.c.Remove(to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return sftpErr("rm", to, err)
	}
	return sftpErr("mv", from, s.c.Rename(from, to))
}

func (s *sftpConn) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.c.Close()
	if e := s.fam.release(s.link); err == nil {
		err = e
	}
	return err
}

func (s *sftpConn) rtt() time.Duration { return s.dialRT }

// shares: the files of a tree interleave their requests on one session,
// so that each file's round trips (OPEN, the last READ or WRITE, CLOSE)
// overlap with the others' data; within the server's open handles.
func (s *sftpConn) shares() int {
	if h := s.limits.handles; h > 0 {
		return max(1, min(sftpShares, h/2))
	}
	return sftpShares
}

// sftpShares is how many files one SFTP session carries at once.
const sftpShares = 8

// realpath asks the server (REALPATH), which resolves links on OpenSSH.
func (s *sftpConn) realpath(p string) (string, error) {
	r, err := s.c.RealPath(p)
	return r, sftpErr("realpath", p, err)
}

func (s *sftpConn) readlink(p string) (string, error) {
	t, err := s.c.ReadLink(p)
	return t, sftpErr("readlink", p, err)
}

func (s *sftpConn) setModTime(p string, t time.Time) error {
	return sftpErr("setstat", p, s.c.Chtimes(p, t, t))
}

func (s *sftpConn) canSetTimes() bool { return true }

func (s *sftpConn) truncate(p string, size int64) error {
	f, err := s.c.OpenFile(p, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return sftpErr("create", p, err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return sftpErr("truncate", p, err)
}

// chunks recycles the buffers of getRange: a large download would
// otherwise allocate its whole size again.
var chunks sync.Pool

func getChunk(n int) []byte {
	if b, ok := chunks.Get().(*[]byte); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]byte, n)
}

func putChunk(b []byte) { chunks.Put(&b) }

// errShortRead: the server sent fewer bytes than asked before the end
// the listing announced (the file shrank).
var errShortRead = errors.New("file ended early")

// getRange copies n bytes of p from off to w, in order, with
// limits.depth READ requests of limits.chunk bytes in flight.
func (s *sftpConn) getRange(p string, off, n int64, w io.Writer) (int64, error) {
	f, err := s.c.Open(p)
	if err != nil {
		return 0, sftpErr("open", p, err)
	}
	// A read handle has nothing to commit: closing it need not be waited
	// for, which saves a round trip per file.
	defer func() { go f.Close() }()
	chunk := int64(s.limits.chunk)
	type result struct {
		b   []byte
		err error
	}
	count := (n + chunk - 1) / chunk
	results := make([]chan result, 0, count)
	var wg sync.WaitGroup
	defer wg.Wait()
	issue := func(i int64) chan result {
		ch := make(chan result, 1)
		o := off + i*chunk
		l := min(chunk, off+n-o)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := getChunk(int(chunk))[:l]
			k, err := f.ReadAt(b, o)
			if int64(k) < l && (err == nil || err == io.EOF) {
				err = errShortRead
			}
			ch <- result{b[:k], err}
		}()
		return ch
	}
	// A segment's writer may end it earlier than n while it runs.
	limit := func() int64 { return off + n }
	if l, ok := w.(interface{ limit() int64 }); ok {
		limit = l.limit
	}
	var written int64
	next := int64(0)
	for i := int64(0); ; i++ {
		for next < count && next < i+int64(s.limits.depth) && off+next*chunk < limit() {
			results = append(results, issue(next))
			next++
		}
		if i >= next {
			break
		}
		r := <-results[i]
		results[i] = nil
		if len(r.b) > 0 {
			k, werr := w.Write(r.b)
			putChunk(r.b)
			written += int64(k)
			if werr != nil {
				return written, &writeError{werr}
			}
		}
		if r.err != nil {
			return written, sftpErr("read", p, r.err)
		}
	}
	return written, nil
}

// putRange writes what r gives into p from off on, with limits.depth
// WRITE requests in flight. flags open the file (with os.O_TRUNC for a new
// upload; without it to fill a part in place). The requests leave in the
// order of their offsets and SFTP servers apply them in order, so what the
// server holds of the range is always a prefix of it; of the bytes read
// from r, at most unacked() may not be acknowledged when it fails.
func (s *sftpConn) putRange(p string, flags int, off int64, r io.Reader) (err error) {
	f, err := s.c.OpenFile(p, flags)
	if err != nil {
		return sftpErr("create", p, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = sftpErr("close", p, cerr)
		}
	}()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return sftpErr("seek", p, err)
	}
	if _, err := f.ReadFromWithConcurrency(r, s.limits.depth); err != nil {
		return sftpErr("write", p, err)
	}
	return nil
}

// unacked bounds the bytes a putRange has read but the server may not
// have: pkg/sftp keeps depth requests in flight, one more sent and waiting
// for a worker, one chunk read and not yet sent, and after a failure reads
// one more before it stops; two chunks spare.
func (s *sftpConn) unacked() int64 { return int64(s.limits.depth+5) * int64(s.limits.chunk) }

// readError marks a failure to read the local file of an upload.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func (s *sftpConn) target() Target { return s.t }
