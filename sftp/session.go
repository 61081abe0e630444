package sftp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// bufPool holds packet buffers big enough for the largest request or
// reply, so a transfer allocates nothing per packet and an idle session
// holds no buffer at all.
var bufPool = sync.Pool{New: func() any { b := make([]byte, maxPacket+64); return &b }}

// session serves SFTP v3 on one channel. Requests are handled one at a
// time, in order: writes reach the disk sequentially and a request never
// waits behind another session's lock.
type session struct {
	cn    *core.Conn
	fs    vfs.FS
	user  string
	rw    io.ReadWriter
	log   *slog.Logger
	busy  *atomic.Int32 // open file handles, for graceful shutdown
	hdr   [4]byte
	h     map[string]*handle
	next  uint64
	inUse int
}

func newSession(cn *core.Conn, rw io.ReadWriter, busy *atomic.Int32) *session {
	return &session{cn: cn, fs: cn.FS(), user: cn.User().Name, rw: rw, log: cn.Log, busy: busy, h: map[string]*handle{}}
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
	switch {
	case errors.Is(err, vfs.ErrEscape):
		s.cn.Refuse(vfs.PathOf(err), "outside the home")
	case errors.Is(err, errShort):
		if berr := s.cn.Offend(core.OffenceCommand, "sftp request", "malformed request"); berr != nil {
			return berr // banned now: the session ends
		}
	case code == fxFailure && msg == failure:
		s.log.Error("sftp request failed", "err", err)
	}
	r := begin(fxpStatus, id)
	r.b = appendU32(r.b, code)
	r.b = appendStr(r.b, msg)
	r.b = appendStr(r.b, "en")
	return s.send(r)
}

// statuses is the one table from errors to SFTP status codes and
// messages (draft-ietf-secsh-filexfer-02 §7). Version 3 has no code for a
// full disk, a non-empty directory or an existing file: those are
// SSH_FX_FAILURE with a message that says which. The first match wins:
// ErrReadOnly, ErrEscape and ErrNotAllowed are also fs.ErrPermission, ErrNoSpace is also
// ErrIO. No message names a server path.
var statuses = []struct {
	err  error
	code uint32
	msg  string
}{
	{io.EOF, fxEOF, "End of file"},
	{vfs.ErrReadOnly, fxPermissionDenied, "Permission denied: read-only account"},
	{vfs.ErrEscape, fxPermissionDenied, "Permission denied: the path leads outside your home directory"},
	{vfs.ErrNotAllowed, fxPermissionDenied, "Permission denied: not allowed in this folder"},
	{fs.ErrPermission, fxPermissionDenied, "Permission denied"},
	{vfs.ErrCrossMount, fxFailure, "Cannot move between virtual folders: copy instead"},
	{fs.ErrNotExist, fxNoSuchFile, "No such file or directory"},
	{fs.ErrExist, fxFailure, "File exists"},
	{vfs.ErrNotEmpty, fxFailure, "Directory not empty"},
	{vfs.ErrIsDir, fxFailure, "Is a directory"},
	{vfs.ErrNotDir, fxFailure, "Not a directory"},
	{vfs.ErrLoop, fxFailure, "Too many levels of symbolic links"},
	{vfs.ErrNameTooLong, fxFailure, "File name too long"},
	{fs.ErrInvalid, fxFailure, "Invalid argument"},
	{vfs.ErrBadOffset, fxFailure, "Offset beyond the end of the file"},
	{vfs.ErrNotSupported, fxOpUnsupported, "Operation unsupported by this storage"},
	{core.ErrQuota, fxFailure, "quota exceeded"},
	{vfs.ErrNoSpace, fxFailure, "No space left on device"},
	{vfs.ErrIO, fxFailure, "Input/output error"},
	{errUnsupported, fxOpUnsupported, "Operation unsupported"},
	{errShort, fxBadMessage, "Bad message"},
	{errBadHandle, fxFailure, "Invalid handle"},
	{errTooManyHandles, fxFailure, "Too many open handles"},
}

// failure is the message of an error the table does not know; the
// session logs it, the client learns nothing more.
const failure = "Failure"

// statusOf maps an error to an SFTP status code and message.
func statusOf(err error) (uint32, string) {
	if err == nil {
		return fxOK, "Success"
	}
	for _, st := range statuses {
		if errors.Is(err, st.err) {
			return st.code, st.msg
		}
	}
	return fxFailure, failure
}

var (
	errUnsupported    = errors.New("operation unsupported")
	errBadHandle      = errors.New("invalid handle")
	errTooManyHandles = fmt.Errorf("too many open handles (limit %d)", maxOpenHandle)
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
		if h == nil || h.isDir() {
			return s.status(id, errBadHandle)
		}
		fi, err := h.stat()
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
				return createMode(s.fs.Chmod(p, clientMode(a.perm)))
			}
			return nil
		}))
	case fxpRmdir:
		p := s.path(&d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Rmdir(p) }))
	case fxpRealpath:
		p := vfs.Clean("/", d.str())
		if d.err != nil {
			return s.status(id, d.err)
		}
		return s.nameReply(id, p, p, nil)
	case fxpRename:
		oldp, newp := s.path(&d), s.path(&d)
		// Version 3 rename never replaces: posix-rename@openssh.com does.
		return s.status(id, s.do(d.err, func() error {
			if _, err := s.fs.Lstat(newp); err == nil {
				return &fs.PathError{Op: "rename", Path: newp, Err: fs.ErrExist}
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
	if err := s.cn.Offend(core.OffenceCommand, "sftp packet type "+strconv.Itoa(int(typ)), "unknown request"); err != nil {
		return err // banned now: the session ends
	}
	return s.status(id, errUnsupported)
}

// clientMode is the mode for a file or directory the client creates: its
// permission bits under the usual 022 umask, as OpenSSH's server applies.
func clientMode(perm uint32) fs.FileMode { return fs.FileMode(perm & 0o755) }

// createMode is the outcome of setting the mode a client asked for when
// creating a file or folder: a storage that keeps no modes (object
// storage, vfs.ErrNotSupported) creates it all the same, as a disk's
// umask may also change that mode. A later SETSTAT is refused as it is.
func createMode(err error) error {
	if errors.Is(err, vfs.ErrNotSupported) {
		return nil
	}
	return err
}

// do runs op unless decoding failed.
func (s *session) do(decodeErr error, op func() error) error {
	if decodeErr != nil {
		return decodeErr
	}
	return op()
}

// path reads a path field and resolves it against the home ("/").
// "../" past the home stays in it, so the file system refuses it as the
// escape it is (vfs.Join); REALPATH resolves it to the home, as a chroot.
func (s *session) path(d *decoder) string { return vfs.Join("/", d.str()) }

func (s *session) version() error {
	b := append(make([]byte, 0, 256), 0, 0, 0, 0, fxpVersion)
	b = appendU32(b, 3)
	// Names and versions as OpenSSH's sftp-server announces them; its
	// client uses statvfs@openssh.com only at version "2".
	for _, ext := range [][2]string{{"posix-rename@openssh.com", "1"}, {"fsync@openssh.com", "1"},
		{"limits@openssh.com", "1"}, {"expand-path@openssh.com", "1"}, {"statvfs@openssh.com", "2"}, {"hardlink@openssh.com", "1"}} {
		b = appendStr(b, ext[0])
		b = appendStr(b, ext[1])
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
		return s.status(id, h.up.Sync())
	case "hardlink@openssh.com":
		// OpenSSH's PROTOCOL: string oldpath, string newpath; link(2)
		// inside the home only (vfs refuses an escape either way).
		oldp, newp := s.path(d), s.path(d)
		return s.status(id, s.do(d.err, func() error { return s.fs.Link(oldp, newp) }))
	case "statvfs@openssh.com":
		// The reply of OpenSSH's PROTOCOL (section 4.4): eleven uint64,
		// statvfs(3) of the file system that holds the home, whatever
		// path was named inside it.
		s.path(d)
		if d.err != nil {
			return s.status(id, d.err)
		}
		u, err := vfs.StatFS(s.fs)
		if errors.Is(err, errors.ErrUnsupported) {
			err = errUnsupported
		}
		if err != nil {
			return s.status(id, err)
		}
		const stRdonly, stNosuid = 1, 2 // SSH2_FXE_STATVFS_ST_RDONLY, _ST_NOSUID
		flag := uint64(stNosuid)
		if u.ReadOnly {
			flag |= stRdonly
		}
		r := begin(fxpExtendedReply, id)
		for _, v := range []uint64{u.BlockSize, u.BlockSize, u.Blocks, u.BlocksFree, u.BlocksAvail,
			u.Files, u.FilesFree, u.FilesFree, 0, flag, u.NameMax} {
			r.b = appendU64(r.b, v)
		}
		return s.send(r)
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
	if err := s.cn.Offend(core.OffenceCommand, name, "unknown extended request"); err != nil {
		return err // banned now: the session ends
	}
	return s.status(id, fmt.Errorf("%w: %q", errUnsupported, name))
}
