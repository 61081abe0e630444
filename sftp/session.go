package sftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// bufPool holds packet buffers big enough for the largest request or
// reply, so a transfer allocates nothing per packet and an idle session
// holds no buffer at all.
var bufPool = sync.Pool{New: func() any { b := make([]byte, maxPacket+64); return &b }}

// handle is an open file or directory.
type handle struct {
	path   string // virtual path
	read   *os.File
	up     *vfs.Upload
	append bool
	atomic bool       // written to a temporary file, published on close
	mtime  *time.Time // set on the temporary file's final name after publishing
	bytes  int64
	dir    []fs.FileInfo
	isDir  bool
}

// file returns the open file, for reads (read == true) or writes.
func (h *handle) file(read bool) *os.File {
	switch {
	case h.up != nil && !read:
		return h.up.File
	case h.up != nil && !h.atomic:
		return h.up.File // opened read-write in place
	case read:
		return h.read
	}
	return nil
}

// session serves SFTP v3 on one channel. Requests are handled one at a
// time, in order: writes reach the disk sequentially and a request never
// waits behind another session's lock.
type session struct {
	fs    *vfs.FS
	user  string
	rw    io.ReadWriter
	log   *slog.Logger
	busy  *atomic.Int32 // open file handles, for graceful shutdown
	hdr   [4]byte
	h     map[string]*handle
	next  uint64
	inUse int
}

func newSession(f *vfs.FS, user string, rw io.ReadWriter, log *slog.Logger, busy *atomic.Int32) *session {
	return &session{fs: f, user: user, rw: rw, log: log, busy: busy, h: map[string]*handle{}}
}

// serve runs until the client closes the channel or breaks the protocol.
// Uploads not closed by the client are discarded.
func (s *session) serve() error {
	defer s.closeAll()
	for {
		bp, n, err := s.readPacket()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		err = s.dispatch((*bp)[:n])
		bufPool.Put(bp)
		if err != nil {
			return err
		}
	}
}

func (s *session) readPacket() (*[]byte, int, error) {
	if _, err := io.ReadFull(s.rw, s.hdr[:]); err != nil {
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(s.hdr[:])
	if n < 1 || n > maxPacket {
		return nil, 0, fmt.Errorf("sftp: packet of %d bytes (limit %d)", n, maxPacket)
	}
	bp := bufPool.Get().(*[]byte)
	if _, err := io.ReadFull(s.rw, (*bp)[:n]); err != nil {
		bufPool.Put(bp)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	return bp, int(n), nil
}

// reply is a response being built in a pooled buffer; send writes it with
// one channel write.
type reply struct {
	bp *[]byte
	b  []byte
}

func begin(typ byte, id uint32) reply {
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], 0, 0, 0, 0, typ)
	return reply{bp: bp, b: appendU32(b, id)}
}

func (s *session) send(r reply) error {
	binary.BigEndian.PutUint32(r.b, uint32(len(r.b)-4))
	_, err := s.rw.Write(r.b)
	bufPool.Put(r.bp)
	return err
}

func (s *session) status(id uint32, err error) error {
	code, msg := statusOf(err)
	r := begin(fxpStatus, id)
	r.b = appendU32(r.b, code)
	r.b = appendStr(r.b, msg)
	r.b = appendStr(r.b, "en")
	return s.send(r)
}

// statusOf maps an error to an SFTP status code and a message that does
// not reveal the server's paths.
func statusOf(err error) (uint32, string) {
	switch {
	case err == nil:
		return fxOK, "Success"
	case errors.Is(err, io.EOF):
		return fxEOF, "End of file"
	case errors.Is(err, fs.ErrNotExist):
		return fxNoSuchFile, "No such file or directory"
	case errors.Is(err, vfs.ErrReadOnly):
		return fxPermissionDenied, "Permission denied: read-only account"
	case errors.Is(err, fs.ErrPermission):
		return fxPermissionDenied, "Permission denied"
	case errors.Is(err, errUnsupported):
		return fxOpUnsupported, err.Error()
	case errors.Is(err, errShort):
		return fxBadMessage, "Bad message"
	}
	for {
		var pe *fs.PathError
		var le *os.LinkError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
			continue
		case errors.As(err, &le):
			err = le.Err
			continue
		}
		break
	}
	return fxFailure, err.Error()
}

var (
	errUnsupported = errors.New("operation unsupported")
	errBadHandle   = errors.New("invalid handle")
	errExists      = errors.New("file already exists")
)

func (s *session) dispatch(p []byte) error {
	typ := p[0]
	d := decoder{b: p[1:]}
	if typ == fxpInit {
		return s.version()
	}
	id := d.u32()
	if d.err != nil {
		return errShort
	}
	switch typ {
	case fxpRead:
		return s.read(id, &d)
	case fxpWrite:
		return s.write(id, &d)
	case fxpOpen:
		return s.open(id, &d)
	case fxpClose:
		return s.status(id, s.closeHandle(d.str(), d.err))
	case fxpOpendir:
		return s.opendir(id, &d)
	case fxpReaddir:
		return s.readdir(id, &d)
	case fxpStat, fxpLstat:
		p := s.path(&d)
		if d.err != nil {
			return s.status(id, d.err)
		}
		stat := s.fs.Stat
		if typ == fxpLstat {
			stat = s.fs.Lstat
		}
		fi, err := stat(p)
		return s.attrsReply(id, fi, err)
	case fxpFstat:
		h := s.h[d.str()]
		if h == nil || h.isDir {
			return s.status(id, errBadHandle)
		}
		f := h.file(h.up == nil)
		fi, err := f.Stat()
		return s.attrsReply(id, fi, err)
	case fxpSetstat:
		p := s.path(&d)
		a := d.attrs()
		if d.err != nil {
			return s.status(id, d.err)
		}
		return s.status(id, s.setstat(p, a))
	case fxpFsetstat:
		return s.status(id, s.fsetstat(&d))
	case fxpRemove:
		p := s.path(&d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Remove(p) }))
	case fxpMkdir:
		p := s.path(&d)
		a := d.attrs()
		return s.status(id, s.do(d.err, func() error {
			if err := s.fs.Mkdir(p); err != nil {
				return err
			}
			if a.flags&attrPermissions != 0 {
				return s.fs.Chmod(p, clientMode(a.perm))
			}
			return nil
		}))
	case fxpRmdir:
		p := s.path(&d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Rmdir(p) }))
	case fxpRealpath:
		p := s.path(&d)
		if d.err != nil {
			return s.status(id, d.err)
		}
		return s.nameReply(id, p, p, nil)
	case fxpRename:
		oldp, newp := s.path(&d), s.path(&d)
		// Version 3 rename never replaces: posix-rename@openssh.com does.
		return s.status(id, s.do(d.err, func() error {
			if _, err := s.fs.Lstat(newp); err == nil {
				return errExists
			}
			return s.fs.Rename(oldp, newp)
		}))
	case fxpReadlink:
		p := s.path(&d)
		if d.err != nil {
			return s.status(id, d.err)
		}
		t, err := s.fs.Readlink(p)
		if err != nil {
			return s.status(id, err)
		}
		return s.nameReply(id, t, t, nil)
	case fxpSymlink:
		// OpenSSH sends the target first and the link's path second, the
		// reverse of the draft; every common client follows OpenSSH.
		target, link := d.str(), s.path(&d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Symlink(target, link) }))
	case fxpExtended:
		return s.extended(id, &d)
	}
	return s.status(id, errUnsupported)
}

// clientMode is the mode for a file or directory the client creates: its
// permission bits under the usual 022 umask, as OpenSSH's server applies.
func clientMode(perm uint32) fs.FileMode { return fs.FileMode(perm & 0o755) }

// do runs op unless decoding failed.
func (s *session) do(decodeErr error, op func() error) error {
	if decodeErr != nil {
		return decodeErr
	}
	return op()
}

// path reads a path field and resolves it against the home ("/").
func (s *session) path(d *decoder) string { return vfs.Clean("/", d.str()) }

func (s *session) version() error {
	b := append(make([]byte, 0, 256), 0, 0, 0, 0, fxpVersion)
	b = appendU32(b, 3)
	for _, ext := range []string{"posix-rename@openssh.com", "fsync@openssh.com", "limits@openssh.com", "expand-path@openssh.com"} {
		b = appendStr(b, ext)
		b = appendStr(b, "1")
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, err := s.rw.Write(b)
	return err
}

func (s *session) attrsReply(id uint32, fi fs.FileInfo, err error) error {
	if err != nil {
		return s.status(id, err)
	}
	r := begin(fxpAttrs, id)
	r.b = appendAttrs(r.b, fi)
	return s.send(r)
}

// nameReply answers REALPATH and READLINK: one name, empty attributes
// unless fi is given.
func (s *session) nameReply(id uint32, name, long string, fi fs.FileInfo) error {
	r := begin(fxpName, id)
	r.b = appendU32(r.b, 1)
	r.b = appendStr(r.b, name)
	r.b = appendStr(r.b, long)
	if fi != nil {
		r.b = appendAttrs(r.b, fi)
	} else {
		r.b = appendU32(r.b, 0)
	}
	return s.send(r)
}

func (s *session) addHandle(h *handle) (string, error) {
	if s.inUse >= maxOpenHandle {
		return "", fmt.Errorf("too many open handles (limit %d)", maxOpenHandle)
	}
	s.next++
	k := strconv.FormatUint(s.next, 36)
	s.h[k] = h
	s.inUse++
	if !h.isDir {
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
		return &handle{path: p, read: f}, nil
	}
	if s.fs.ReadOnly() {
		return nil, vfs.ErrReadOnly
	}
	fi, err := s.fs.Stat(p)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	h := &handle{path: p, append: flags&fxfAppend != 0}
	switch {
	case exists && flags&fxfCreat != 0 && flags&fxfExcl != 0:
		return nil, errExists
	case !exists && flags&fxfCreat == 0:
		return nil, fs.ErrNotExist
	case exists && fi.IsDir():
		return nil, errors.New("is a directory")
	case !exists || flags&fxfTrunc != 0:
		up, err := s.fs.Create(p)
		if err != nil {
			return nil, err
		}
		h.up, h.atomic = up, true
		if a.flags&attrPermissions != 0 {
			if err := up.File.Chmod(clientMode(a.perm)); err != nil {
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
	return h, nil
}

func (s *session) read(id uint32, d *decoder) error {
	h := s.h[d.str()]
	off := d.u64()
	n := d.u32()
	if d.err != nil {
		return s.status(id, d.err)
	}
	var f *os.File
	if h != nil && !h.isDir {
		f = h.file(true)
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
	var f *os.File
	if h != nil && !h.isDir {
		f = h.file(false)
	}
	if f == nil {
		return s.status(id, errBadHandle)
	}
	if h.append {
		fi, err := f.Stat()
		if err != nil {
			return s.status(id, err)
		}
		off = uint64(fi.Size())
	}
	_, err := f.WriteAt(data, int64(off))
	h.bytes += int64(len(data))
	return s.status(id, err)
}

func (s *session) setstat(p string, a attrs) error {
	if a.flags&attrSize != 0 {
		if err := s.fs.Truncate(p, int64(a.size)); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		if err := s.fs.Chmod(p, fs.FileMode(a.perm&0o777)); err != nil {
			return err
		}
	}
	if a.flags&attrACModTime != 0 {
		if err := s.fs.Chtimes(p, time.Unix(int64(a.mtime), 0)); err != nil {
			return err
		}
	}
	return nil
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
	if h == nil || h.isDir {
		return errBadHandle
	}
	if h.up == nil {
		return s.setstat(h.path, a)
	}
	f := h.up.File
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

func (s *session) opendir(id uint32, d *decoder) error {
	p := s.path(d)
	if d.err != nil {
		return s.status(id, d.err)
	}
	fi, err := s.fs.Stat(p)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return s.status(id, err)
	}
	list, err := s.fs.ReadDir(p)
	if err != nil {
		return s.status(id, err)
	}
	k, err := s.addHandle(&handle{path: p, isDir: true, dir: list})
	if err != nil {
		return s.status(id, err)
	}
	return s.handleReply(id, k)
}

// readdirBatch bounds one NAME reply; long names are short, so a batch
// stays far below the packet limit.
const readdirBatch = 128

func (s *session) readdir(id uint32, d *decoder) error {
	h := s.h[d.str()]
	if d.err != nil {
		return s.status(id, d.err)
	}
	if h == nil || !h.isDir {
		return s.status(id, errBadHandle)
	}
	if len(h.dir) == 0 {
		return s.status(id, io.EOF)
	}
	batch := h.dir[:min(readdirBatch, len(h.dir))]
	h.dir = h.dir[len(batch):]
	now := time.Now()
	r := begin(fxpName, id)
	r.b = appendU32(r.b, uint32(len(batch)))
	for _, fi := range batch {
		r.b = appendStr(r.b, fi.Name())
		r.b = appendStr(r.b, longName(fi, s.user, now))
		r.b = appendAttrs(r.b, fi)
	}
	return s.send(r)
}

func (s *session) extended(id uint32, d *decoder) error {
	name := d.str()
	switch name {
	case "limits@openssh.com":
		r := begin(fxpExtendedReply, id)
		r.b = appendU64(r.b, maxPacket)
		r.b = appendU64(r.b, maxData)
		r.b = appendU64(r.b, maxData)
		r.b = appendU64(r.b, maxOpenHandle)
		return s.send(r)
	case "posix-rename@openssh.com":
		oldp, newp := s.path(d), s.path(d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Rename(oldp, newp) }))
	case "fsync@openssh.com":
		h := s.h[d.str()]
		if h == nil || h.up == nil {
			return s.status(id, errBadHandle)
		}
		return s.status(id, h.up.File.Sync())
	case "expand-path@openssh.com":
		p := d.str()
		if d.err != nil {
			return s.status(id, d.err)
		}
		// "~" is the home, which is the root of this user's tree.
		if p == "~" || strings.HasPrefix(p, "~/") {
			p = "/" + strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
		} else if strings.HasPrefix(p, "~") {
			return s.status(id, fs.ErrNotExist)
		}
		p = vfs.Clean("/", p)
		return s.nameReply(id, p, p, nil)
	}
	return s.status(id, fmt.Errorf("%w: %q", errUnsupported, name))
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

// release closes h; commit publishes an upload, otherwise it is discarded.
func (s *session) release(h *handle, commit bool) error {
	if h.isDir {
		return nil
	}
	s.busy.Add(-1)
	switch {
	case h.read != nil:
		s.log.Info("sftp download", "path", h.path, "bytes", h.bytes)
		return h.read.Close()
	case commit:
		err := h.up.Commit()
		if err == nil && h.mtime != nil {
			err = s.fs.Chtimes(h.path, *h.mtime)
		}
		if err != nil {
			s.log.Warn("sftp upload failed", "path", h.path, "bytes", h.bytes, "err", err)
			return err
		}
		s.log.Info("sftp upload", "path", h.path, "bytes", h.bytes, "atomic", h.atomic)
		return nil
	default:
		s.log.Warn("sftp upload incomplete", "path", h.path, "bytes", h.bytes, "kept", !h.atomic)
		return h.up.Abort()
	}
}

// closeAll runs when the session ends: handles the client did not close
// are released without publishing.
func (s *session) closeAll() {
	for k, h := range s.h {
		delete(s.h, k)
		s.release(h, false)
	}
	s.inUse = 0
}
