package client

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Meter follows the bytes of one file; NewBar makes one that draws a
// progress bar.
type Meter interface {
	Add(n int64)
	Finish()
}

// File is the outcome of one file transfer.
type File struct {
	Remote      string `json:"remote"`
	Local       string `json:"local"`
	Size        int64  `json:"size"`
	Transferred int64  `json:"transferred"`
	ResumedFrom int64  `json:"resumed_from,omitempty"`
	Skipped     bool   `json:"skipped,omitempty"` // already complete (-c)
}

// Transfer copies files between this machine and a Conn.
type Transfer struct {
	Conn Conn
	// Resume continues partial files (-c) and skips complete ones.
	Resume bool
	// Recursive copies folder trees (-r).
	Recursive bool
	// Meter starts following one file; nil shows nothing.
	Meter func(name string, total, offset int64) Meter
	// Notice receives remarks for the user (skipped entries).
	Notice io.Writer
	// Files lists what was transferred so far.
	Files []File
}

func (x *Transfer) notice(format string, args ...any) {
	if x.Notice != nil {
		fmt.Fprintf(x.Notice, "ferry: "+format+"\n", args...)
	}
}

func (x *Transfer) meter(name string, total, offset int64) Meter {
	if x.Meter == nil {
		return nopMeter{}
	}
	return x.Meter(name, total, offset)
}

type nopMeter struct{}

func (nopMeter) Add(int64) {}
func (nopMeter) Finish()   {}

// partSuffix names the file a download is written to until it is complete
// and checked; -c continues it.
const partSuffix = ".part"

// remoteBase is the last element of a remote path.
func remoteBase(p string) string {
	b := path.Base(strings.TrimRight(p, "/"))
	if b == "." || b == "/" || b == "" {
		return ""
	}
	return b
}

// Get downloads remote to local ("" = the remote name in the current
// folder; an existing folder = the remote name inside it).
func (x *Transfer) Get(remote, local string) error {
	e, err := x.Conn.Stat(remote)
	if err != nil {
		return err
	}
	base := remoteBase(remote)
	if local == "" {
		if base == "" {
			return withKind(ErrUsage, fmt.Errorf("%s has no name to save under: give a LOCAL path", remote))
		}
		local = base
	} else if fi, err := os.Stat(local); err == nil && fi.IsDir() && base != "" {
		local = filepath.Join(local, base)
	}
	if e.Dir {
		if !x.Recursive {
			return withKind(ErrUsage, fmt.Errorf("%s is a folder: use -r to download it", remote))
		}
		return x.getTree(remote, local)
	}
	return x.getFile(remote, local, e.Size)
}

func (x *Transfer) getTree(remote, local string) error {
	if err := os.MkdirAll(local, 0o755); err != nil {
		return withKind(ErrLocal, err)
	}
	es, err := x.Conn.List(remote)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, `/\`) {
			x.notice("skipping unsafe name %q in %s", e.Name, remote)
			continue
		}
		r, l := path.Join(remote, e.Name), filepath.Join(local, e.Name)
		if e.Dir {
			err = x.getTree(r, l)
		} else {
			err = x.getFile(r, l, e.Size)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *Transfer) getFile(remote, local string, size int64) error {
	rec := File{Remote: remote, Local: local, Size: size}
	part := local + partSuffix
	var offset int64
	if x.Resume {
		if fi, err := os.Stat(part); err == nil {
			offset = fi.Size()
		} else if fi, err := os.Stat(local); err == nil && fi.Mode().IsRegular() {
			switch {
			case fi.Size() == size:
				rec.Skipped = true
				x.Files = append(x.Files, rec)
				return nil
			case fi.Size() < size:
				if err := os.Rename(local, part); err != nil {
					return withKind(ErrLocal, err)
				}
				offset = fi.Size()
			}
		}
		if offset > size {
			return withKind(ErrLocal, fmt.Errorf("%s is larger (%d bytes) than %s (%d bytes): not a partial copy of it", part, offset, remote, size))
		}
	}
	flags := os.O_WRONLY | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return withKind(ErrLocal, err)
	}
	rec.ResumedFrom = offset
	var n int64
	if offset < size || size == 0 {
		r, err := x.Conn.Open(remote, offset)
		if err != nil {
			return err
		}
		m := x.meter(path.Base(remote), size, offset)
		n, err = io.Copy(&countWriter{w: f, m: m}, r)
		cerr := r.Close()
		m.Finish()
		if err != nil {
			var we *writeError
			if errors.As(err, &we) {
				return withKind(ErrLocal, we.err)
			}
			return withKind(ErrIncomplete, fmt.Errorf("download of %s interrupted after %d bytes (run again with -c to continue): %w", remote, offset+n, err))
		}
		if cerr != nil {
			return withKind(ErrIncomplete, fmt.Errorf("download of %s: %w", remote, cerr))
		}
	}
	if err := f.Close(); err != nil {
		return withKind(ErrLocal, err)
	}
	rec.Transferred = n
	if got := offset + n; got != size {
		return withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: got %d bytes, the server said %d (kept in %s)", remote, got, size, part))
	}
	if err := os.Rename(part, local); err != nil {
		return withKind(ErrLocal, err)
	}
	x.Files = append(x.Files, rec)
	return nil
}

// Put uploads local to remote (a folder, or a path ending in "/", means
// the local name inside it).
func (x *Transfer) Put(local, remote string) error {
	fi, err := os.Stat(local)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	name := filepath.Base(local)
	if strings.HasSuffix(remote, "/") || remote == "." || remote == "" {
		remote = path.Join(remote, name)
	} else if e, err := x.Conn.Stat(remote); err == nil && e.Dir {
		remote = path.Join(remote, name)
	}
	if fi.IsDir() {
		if !x.Recursive {
			return withKind(ErrUsage, fmt.Errorf("%s is a folder: use -r to upload it", local))
		}
		return x.putTree(local, remote)
	}
	if !fi.Mode().IsRegular() {
		return withKind(ErrLocal, fmt.Errorf("%s is not a regular file", local))
	}
	return x.putFile(local, remote, fi.Size())
}

func (x *Transfer) putTree(local, remote string) error {
	if e, err := x.Conn.Stat(remote); err != nil {
		if err := x.Conn.Mkdir(remote); err != nil {
			return err
		}
	} else if !e.Dir {
		return withKind(ErrRemote, fmt.Errorf("%s exists and is not a folder", remote))
	}
	des, err := os.ReadDir(local)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	for _, de := range des {
		l, r := filepath.Join(local, de.Name()), path.Join(remote, de.Name())
		switch {
		case de.IsDir():
			err = x.putTree(l, r)
		case de.Type().IsRegular():
			var fi fs.FileInfo
			if fi, err = de.Info(); err == nil {
				err = x.putFile(l, r, fi.Size())
			} else {
				err = withKind(ErrLocal, err)
			}
		default:
			x.notice("skipping %s: not a regular file or folder", l)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *Transfer) putFile(local, remote string, size int64) error {
	rec := File{Remote: remote, Local: local, Size: size}
	var offset int64
	if x.Resume {
		if e, err := x.Conn.Stat(remote); err == nil && !e.Dir {
			switch {
			case e.Size == size:
				rec.Skipped = true
				x.Files = append(x.Files, rec)
				return nil
			case e.Size > size:
				return withKind(ErrRemote, fmt.Errorf("%s is larger (%d bytes) than %s (%d bytes): not a partial copy of it", remote, e.Size, local, size))
			}
			offset = e.Size
		}
	}
	f, err := os.Open(local)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	defer f.Close()
	w, err := x.Conn.Create(remote, offset)
	if errors.Is(err, ErrNoResume) {
		x.notice("%s: this protocol cannot continue an upload; sending the whole file", remote)
		offset = 0
		w, err = x.Conn.Create(remote, 0)
	}
	if err != nil {
		return err
	}
	rec.ResumedFrom = offset
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		w.Close()
		return withKind(ErrLocal, err)
	}
	m := x.meter(filepath.Base(local), size, offset)
	src := &countReader{r: f, m: m, remain: size - offset}
	n, err := io.Copy(w, src)
	cerr := w.Close()
	m.Finish()
	if src.err != nil {
		return withKind(ErrLocal, src.err)
	}
	if err != nil {
		return withKind(ErrIncomplete, fmt.Errorf("upload of %s interrupted after %d bytes (run again with -c to continue): %w", local, offset+n, err))
	}
	if cerr != nil {
		return withKind(ErrIncomplete, fmt.Errorf("upload of %s: %w", local, cerr))
	}
	rec.Transferred = n
	e, err := x.Conn.Stat(remote)
	if err != nil {
		return fmt.Errorf("size check of %s: %w", remote, err)
	}
	if e.Size != size {
		return withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: the server has %d bytes, %s has %d", remote, e.Size, local, size))
	}
	x.Files = append(x.Files, rec)
	return nil
}

// writeError marks a failure to write the local file, as opposed to a
// failure to read from the server.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type countWriter struct {
	w io.Writer
	m Meter
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.m.Add(int64(n))
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

// countReader reads the local file of an upload. Size lets SFTP pipeline
// its writes as it does for a plain file.
type countReader struct {
	r      io.Reader
	m      Meter
	remain int64
	err    error // a local read failure
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.m.Add(int64(n))
	c.remain -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *countReader) Size() int64 { return c.remain }

// Summary is the machine-readable account of a command (--json).
type Summary struct {
	Command string  `json:"command"`
	URL     string  `json:"url"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	Exit    int     `json:"exit_code"`
	Files   []File  `json:"files,omitempty"`
	Entries []Entry `json:"entries,omitempty"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

// Finish fills the totals and the outcome.
func (s *Summary) Finish(files []File, start time.Time, err error) {
	s.Files = files
	for _, f := range files {
		s.Bytes += f.Transferred
	}
	s.Seconds = time.Since(start).Seconds()
	s.OK = err == nil
	s.Exit = ExitCode(err)
	if err != nil {
		s.Error = err.Error()
	}
}

// Redact returns a URL without its password, for messages and summaries.
func Redact(raw string) string { return redact(raw) }
