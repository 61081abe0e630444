package sftp

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/ferry-project/ferry/core/coretest"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code uint32
		msg  string
	}{
		{nil, fxOK, "Success"},
		{io.EOF, fxEOF, "End of file"},
		{&fs.PathError{Op: "open", Path: "/secret/path", Err: fs.ErrNotExist}, fxNoSuchFile, "No such file or directory"},
		{vfs.ErrReadOnly, fxPermissionDenied, "Permission denied: read-only account"},
		{&fs.PathError{Op: "open", Path: "/l", Err: vfs.ErrEscape}, fxPermissionDenied, "Permission denied: the path leads outside your home directory"},
		{&fs.PathError{Op: "open", Path: "x", Err: fs.ErrPermission}, fxPermissionDenied, "Permission denied"},
		{&fs.PathError{Op: "rmdir", Path: "/d", Err: vfs.ErrNotEmpty}, fxFailure, "Directory not empty"},
		{&fs.PathError{Op: "write", Path: "/f", Err: vfs.ErrNoSpace}, fxFailure, "No space left on device"},
		{&fs.PathError{Op: "open", Path: "/f", Err: vfs.ErrNameTooLong}, fxFailure, "File name too long"},
		{&fs.PathError{Op: "open", Path: "/f", Err: vfs.ErrLoop}, fxFailure, "Too many levels of symbolic links"},
		{&fs.PathError{Op: "chmod", Path: "/f", Err: vfs.ErrNotSupported}, fxOpUnsupported, "Operation unsupported by this storage"},
		{&os.LinkError{Op: "rename", Old: "/srv/a", New: "/srv/b", Err: errors.New("invalid cross-device link")}, fxFailure, "Failure"},
		{errUnsupported, fxOpUnsupported, "Operation unsupported"},
		{errShort, fxBadMessage, "Bad message"},
	} {
		code, msg := statusOf(tc.err)
		if code != tc.code || msg != tc.msg {
			t.Errorf("statusOf(%v) = %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}

// rawClient speaks SFTP packets to a session over an in-memory pipe.
type rawClient struct {
	t    *testing.T
	c    net.Conn
	done chan error
}

func newRawSession(t *testing.T, home string, readOnly bool, fsys ...vfs.FS) *rawClient {
	t.Helper()
	cn, srv, cli := coretest.Conn(t, listen.SFTP, store.User{Name: "u", Home: home, ReadOnly: readOnly}, nil, fsys...)
	var busy atomic.Int32
	rc := &rawClient{t: t, c: cli, done: make(chan error, 1)}
	go func() {
		rc.done <- newSession(cn, srv, &busy).serve()
		srv.Close()
	}()
	return rc
}

func (rc *rawClient) send(p []byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p)))); err != nil {
		rc.t.Fatal(err)
	}
	if _, err := rc.c.Write(p); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawClient) recv() (byte, []byte) {
	rc.t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(rc.c, hdr[:]); err != nil {
		rc.t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(rc.c, b); err != nil {
		rc.t.Fatal(err)
	}
	return b[0], b[1:]
}

func pkt(typ byte, id uint32, fields ...any) []byte {
	b := appendU32([]byte{typ}, id)
	for _, f := range fields {
		switch v := f.(type) {
		case string:
			b = appendStr(b, v)
		case uint32:
			b = appendU32(b, v)
		case uint64:
			b = appendU64(b, v)
		case []byte:
			b = append(b, v...)
		}
	}
	return b
}

// TestSessionBadInput: malformed or out-of-place requests get an error
// status, the session goes on, and nothing changes on disk.
func TestSessionBadInput(t *testing.T) {
	home := t.TempDir()
	rc := newRawSession(t, home, false)
	rc.send([]byte{fxpInit, 0, 0, 0, 3})
	if typ, _ := rc.recv(); typ != fxpVersion {
		t.Fatalf("INIT answered with %d", typ)
	}
	for _, tc := range []struct {
		name string
		p    []byte
		code uint32
	}{
		{"read on an unknown handle", pkt(fxpRead, 1, "nope", uint64(0), uint32(10)), fxFailure},
		{"write on an unknown handle", pkt(fxpWrite, 2, "nope", uint64(0), "data"), fxFailure},
		{"close of an unknown handle", pkt(fxpClose, 3, "nope"), fxFailure},
		{"truncated open", pkt(fxpOpen, 4, []byte{0, 0, 0, 9, 'a'}), fxBadMessage},
		{"open without create", pkt(fxpOpen, 5, "new.txt", uint32(fxfWrite), uint32(0)), fxNoSuchFile},
		{"unknown packet type", pkt(99, 6), fxOpUnsupported},
		{"unknown extension", pkt(fxpExtended, 7, "frob@example.com"), fxOpUnsupported},
		{"opendir of a missing directory", pkt(fxpOpendir, 8, "nodir"), fxNoSuchFile},
		{"rmdir of the home", pkt(fxpRmdir, 9, "/"), fxPermissionDenied},
		{"absolute symlink", pkt(fxpSymlink, 10, "/etc/passwd", "l"), fxPermissionDenied},
	} {
		rc.send(tc.p)
		typ, body := rc.recv()
		d := decoder{b: body}
		id, code := d.u32(), d.u32()
		if typ != fxpStatus || id != binary.BigEndian.Uint32(tc.p[1:]) || code != tc.code {
			t.Errorf("%s: type %d id %d status %d, want status %d", tc.name, typ, id, code, tc.code)
		}
	}
	if ents := testutil.Home(t, home); len(ents) != 0 {
		t.Fatalf("bad requests changed the home: %v", ents)
	}
	// A packet longer than the limit ends the session with an error.
	rc.c.Write([]byte{0x7f, 0, 0, 0})
	if err := <-rc.done; err == nil {
		t.Fatal("oversized packet accepted")
	}
}

// TestSessionAtomicWrite: a file written through an open handle appears
// only on CLOSE; a session that ends first leaves nothing.
func TestSessionAtomicWrite(t *testing.T) {
	home := t.TempDir()
	rc := newRawSession(t, home, false)
	rc.send([]byte{fxpInit, 0, 0, 0, 3})
	rc.recv()
	open := func(id uint32, name string) string {
		rc.send(pkt(fxpOpen, id, name, uint32(fxfWrite|fxfCreat|fxfTrunc), uint32(0)))
		typ, body := rc.recv()
		if typ != fxpHandle {
			t.Fatalf("open %s: reply %d", name, typ)
		}
		d := decoder{b: body[4:]}
		return d.str()
	}
	h := open(1, "a.txt")
	rc.send(pkt(fxpWrite, 2, h, uint64(0), "hello"))
	rc.recv()
	if _, err := os.Stat(filepath.Join(home, "a.txt")); !os.IsNotExist(err) {
		t.Fatal("file visible before CLOSE")
	}
	rc.send(pkt(fxpClose, 3, h))
	rc.recv()
	if b, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(b) != "hello" {
		t.Fatalf("after CLOSE: %q", b)
	}
	h = open(4, "b.txt")
	rc.send(pkt(fxpWrite, 5, h, uint64(0), "partial"))
	rc.recv()
	rc.c.Close()
	if err := <-rc.done; err != nil {
		t.Fatal(err)
	}
	ents := testutil.Home(t, home)
	if len(ents) != 1 || ents[0] != "a.txt" {
		t.Fatalf("an unclosed upload left files: %v", ents)
	}
}

// TestSessionMemoryBackend: the adapter works on any vfs.FS, here the
// memory backend that object storage will stand beside: an upload appears
// on CLOSE, and a listing and a stat see it.
func TestSessionMemoryBackend(t *testing.T) {
	mem := vfs.NewMemory(false)
	rc := newRawSession(t, "", false, mem)
	rc.send([]byte{fxpInit, 0, 0, 0, 3})
	rc.recv()
	rc.send(pkt(fxpOpen, 1, "m.txt", uint32(fxfWrite|fxfCreat|fxfTrunc), uint32(0)))
	typ, body := rc.recv()
	if typ != fxpHandle {
		t.Fatalf("open: reply %d", typ)
	}
	d := decoder{b: body[4:]}
	h := d.str()
	rc.send(pkt(fxpWrite, 2, h, uint64(0), "in memory"))
	rc.recv()
	if _, err := mem.Stat("/m.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("visible before CLOSE: %v", err)
	}
	rc.send(pkt(fxpClose, 3, h))
	rc.recv()
	fi, err := mem.Stat("/m.txt")
	if err != nil || fi.Size() != int64(len("in memory")) {
		t.Fatalf("after CLOSE: %v %v", fi, err)
	}
	rc.send(pkt(fxpStat, 4, "/m.txt"))
	if typ, _ := rc.recv(); typ != fxpAttrs {
		t.Fatalf("stat over SFTP: reply %d", typ)
	}
}
