package sftp

import (
	"errors"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// handle is an open file (read or up) or directory (dir).
type handle struct {
	path   string // virtual path
	read   vfs.File
	up     vfs.Upload
	dir    vfs.Lister
	append bool
	atomic bool       // written to a temporary file, published on close
	mtime  *time.Time // set on the temporary file's final name after publishing
	bytes  int64
	opened time.Time
	digest *core.Digest   // downloads and atomic uploads, when the audit log wants digests
	rate   func(n int64)  // the bandwidth limits' wait (core.Conn.Rate), nil for none
	moving *core.Progress // for ferry status; ended when the handle closes
}

func (h *handle) isDir() bool { return h.dir != nil }

// reader is what READ reads: the download, or a file opened read-write
// in place; an atomic upload is write-only.
func (h *handle) reader() io.ReaderAt {
	switch {
	case h.read != nil:
		return h.read
	case h.up != nil && !h.atomic:
		return h.up
	}
	return nil
}

// stat describes the handle's open file.
func (h *handle) stat() (fs.FileInfo, error) {
	if h.read != nil {
		return h.read.Stat()
	}
	return h.up.Stat()
}

func (s *session) addHandle(h *handle) (string, error) {
	if s.inUse >= maxOpenHandle {
		return "", errTooManyHandles
	}
	s.next++
	k := strconv.FormatUint(s.next, 36)
	s.h[k] = h
	s.inUse++
	if !h.isDir() {
		s.busy.Add(1)
	}
	return k, nil
}

func (s *session) handleReply(id uint32, k string) error {
	r := begin(fxpHandle, id)
	r.b = appendStr(r.b, k)
	return s.send(r)
}

func (s *session) open(id uint32, d *decoder) error {
	p := s.path(d)
	flags := d.u32()
	a := d.attrs()
	if d.err != nil {
		return s.status(id, d.err)
	}
	h, err := s.openFile(p, flags, a)
	if err != nil {
		return s.status(id, err)
	}
	k, err := s.addHandle(h)
	if err != nil {
		s.release(h, false)
		return s.status(id, err)
	}
	return s.handleReply(id, k)
}

// openFile decides how a file is opened. A write that creates the file or
// truncates it goes to a temporary file published on close (atomic); a
// write into an existing file without truncation (a resumed "reput", or
// random access) goes in place.
func (s *session) openFile(p string, flags uint32, a attrs) (*handle, error) {
	if flags&(fxfWrite|fxfAppend) == 0 {
		f, err := s.fs.Open(p)
		if err != nil {
			return nil, err
		}
		return &handle{path: p, read: f, opened: time.Now(), digest: s.digest(), rate: s.cn.Rate(core.Down), moving: s.cn.Progress(core.Down, p)}, nil
	}
	if s.fs.ReadOnly() {
		return nil, &fs.PathError{Op: "open", Path: p, Err: vfs.ErrReadOnly}
	}
	fi, err := s.fs.Stat(p)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	h := &handle{path: p, append: flags&fxfAppend != 0, opened: time.Now(), rate: s.cn.Rate(core.Up)}
	switch {
	case exists && flags&fxfCreat != 0 && flags&fxfExcl != 0:
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrExist}
	case !exists && flags&fxfCreat == 0:
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	case exists && fi.IsDir():
		return nil, &fs.PathError{Op: "open", Path: p, Err: vfs.ErrIsDir}
	case !exists || flags&fxfTrunc != 0:
		up, err := s.fs.Create(p)
		if err != nil {
			return nil, err
		}
		h.up, h.atomic, h.digest = up, true, s.digest()
		// A client that tells the file's size at open (the size
		// attribute) is refused before any data when it does not fit.
		if a.flags&attrSize != 0 {
			if err := s.cn.Expect(up, int64(min(a.size, 1<<62))); err != nil {
				up.Abort()
				return nil, err
			}
		}
		if a.flags&attrPermissions != 0 {
			if err := createMode(up.Chmod(clientMode(a.perm))); err != nil {
				up.Abort()
				return nil, err
			}
		}
	default:
		up, err := s.fs.OpenRandom(p)
		if err != nil {
			return nil, err
		}
		h.up = up
	}
	h.moving = s.cn.Progress(core.Up, p)
	return h, nil
}

func (s *session) read(id uint32, d *decoder) error {
	h := s.h[d.str()]
	off := d.u64()
	n := d.u32()
	if d.err != nil {
		return s.status(id, d.err)
	}
	var f io.ReaderAt
	if h != nil {
		f = h.reader()
	}
	if f == nil {
		return s.status(id, errBadHandle)
	}
	if n > maxData {
		n = maxData
	}
	r := begin(fxpData, id)
	start := len(r.b) + 4
	buf := (*r.bp)[start : start+int(n)]
	got, err := f.ReadAt(buf, int64(off))
	if got == 0 {
		bufPool.Put(r.bp)
		if err == nil {
			err = io.EOF
		}
		return s.status(id, err)
	}
	h.bytes += int64(got)
	h.moving.Add(int64(got))
	if h.read != nil {
		h.digest.At(int64(off), buf[:got])
	}
	if h.rate != nil {
		h.rate(int64(got))
	}
	r.b = appendU32(r.b, uint32(got))[:start+got]
	return s.send(r)
}

func (s *session) write(id uint32, d *decoder) error {
	h := s.h[d.str()]
	off := d.u64()
	data := d.bytes()
	if d.err != nil {
		return s.status(id, d.err)
	}
	if h == nil || h.up == nil {
		return s.status(id, errBadHandle)
	}
	f := h.up
	if h.append {
		fi, err := f.Stat()
		if err != nil {
			return s.status(id, err)
		}
		off = uint64(fi.Size())
	}
	n, err := f.WriteAt(data, int64(off))
	h.bytes += int64(n)
	h.moving.Add(int64(n))
	if h.atomic {
		h.digest.At(int64(off), data[:n])
	}
	if h.rate != nil {
		h.rate(int64(n))
	}
	return s.status(id, err)
}

// fsetstat applies attributes through a handle. For an atomic upload the
// size and mode go to the temporary file and the time is kept until the
// file is published, since publishing is what the client waits for.
func (s *session) fsetstat(d *decoder) error {
	h := s.h[d.str()]
	a := d.attrs()
	if d.err != nil {
		return d.err
	}
	if h == nil || h.isDir() {
		return errBadHandle
	}
	if h.up == nil {
		return s.setstat(h.path, a)
	}
	f := h.up
	if a.flags&attrSize != 0 {
		if err := f.Truncate(int64(a.size)); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		if err := f.Chmod(fs.FileMode(a.perm & 0o777)); err != nil {
			return err
		}
	}
	if a.flags&attrACModTime != 0 {
		t := time.Unix(int64(a.mtime), 0)
		if h.atomic {
			h.mtime = &t
		} else if err := s.fs.Chtimes(h.path, t); err != nil {
			return err
		}
	}
	return nil
}

// closeHandle closes a handle on the client's request: an upload is
// published (atomic) or kept (in place).
func (s *session) closeHandle(k string, decodeErr error) error {
	if decodeErr != nil {
		return decodeErr
	}
	h := s.h[k]
	if h == nil {
		return errBadHandle
	}
	delete(s.h, k)
	s.inUse--
	return s.release(h, true)
}

// release closes h; commit publishes an upload, otherwise it is
// discarded. An upload that missed a write is never published: Commit
// fails with the write's error.
func (s *session) release(h *handle, commit bool) error {
	if h.isDir() {
		return h.dir.Close()
	}
	s.busy.Add(-1)
	h.moving.Done()
	switch {
	case h.read != nil:
		var sum string
		if fi, err := h.read.Stat(); err == nil {
			sum = h.digest.Sum(fi.Size())
		}
		s.cn.Emit(core.Event{Kind: core.EventDownload, Path: h.path, Bytes: h.bytes, Duration: time.Since(h.opened), SHA256: sum})
		return h.read.Close()
	case commit:
		err := h.up.Commit()
		if err == nil && h.mtime != nil {
			err = s.fs.Chtimes(h.path, *h.mtime)
		}
		if err != nil {
			s.cn.Emit(core.Event{Kind: core.EventUpload, Path: h.path, Bytes: h.bytes, Duration: time.Since(h.opened), Err: err,
				Attrs: []any{"atomic", h.atomic, "kept", !h.atomic}})
			return err
		}
		s.cn.Emit(core.Event{Kind: core.EventUpload, Path: h.path, Bytes: h.bytes, Duration: time.Since(h.opened), SHA256: h.digest.Sum(h.bytes),
			Attrs: []any{"atomic", h.atomic}})
		return nil
	default:
		s.cn.Emit(core.Event{Kind: core.EventUpload, Path: h.path, Bytes: h.bytes, Duration: time.Since(h.opened),
			Result: core.ResultAborted, Attrs: []any{"kept", !h.atomic}})
		return h.up.Abort()
	}
}

// closeAll runs when the session ends: handles the client did not close
// are released without publishing, or, with uploads.interrupted = "keep",
// uploads are published with what arrived, for a reput.
func (s *session) closeAll() {
	for k, h := range s.h {
		delete(s.h, k)
		keep := h.up != nil && s.cn.KeepInterrupted(nil)
		if keep {
			s.log.Info("interrupted upload kept", "path", h.path, "bytes", h.bytes)
		}
		s.release(h, keep)
	}
	s.inUse = 0
}

// digest is a new digest for a handle when the audit log wants them.
func (s *session) digest() *core.Digest {
	if s.cn.Digests() {
		return &core.Digest{}
	}
	return nil
}
