package sftp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// start sends INIT and reads the VERSION.
func (rc *rawClient) start() {
	rc.t.Helper()
	rc.send([]byte{fxpInit, 0, 0, 0, 3})
	if typ, _ := rc.recv(); typ != fxpVersion {
		rc.t.Fatalf("INIT answered with %d", typ)
	}
}

// status sends a request that must be answered with a STATUS.
func (rc *rawClient) status(p []byte) (uint32, string) {
	rc.t.Helper()
	rc.send(p)
	typ, body := rc.recv()
	if typ != fxpStatus {
		rc.t.Fatalf("request %d answered with %d, want a status", p[0], typ)
	}
	d := decoder{b: body[4:]}
	return d.u32(), d.str()
}

// handle sends OPEN or OPENDIR and returns the handle.
func (rc *rawClient) handle(p []byte) string {
	rc.t.Helper()
	rc.send(p)
	typ, body := rc.recv()
	if typ != fxpHandle {
		d := decoder{b: body[4:]}
		rc.t.Fatalf("request %d answered with %d (%d %s), want a handle", p[0], typ, d.u32(), d.str())
	}
	d := decoder{b: body[4:]}
	return d.str()
}

// TestSymlinkLoopEscape is the attack a lexical check let through: with
// "loop -> .", the target loop/loop/.../../../etc/passwd looks inside the
// home and leads out of it on the disk. It is refused as permission
// denied, over raw SFTP and with OpenSSH's ln -s, and nothing is created.
func TestSymlinkLoopEscape(t *testing.T) {
	home := t.TempDir()
	rc := newRawSession(t, home, false)
	rc.start()
	if code, msg := rc.status(pkt(fxpSymlink, 1, ".", "loop")); code != fxOK {
		t.Fatalf("loop -> .: %d %s", code, msg)
	}
	up := strings.Repeat("loop/", 16) + strings.Repeat("../", 16) + "etc/passwd"
	code, msg := rc.status(pkt(fxpSymlink, 2, up, "pw"))
	if code != fxPermissionDenied || msg != "Permission denied: the path leads outside your home directory" {
		t.Errorf("link out through loop: %d %s", code, msg)
	}
	if code, _ := rc.status(pkt(fxpSymlink, 3, "../..", "loop/loop/pw")); code != fxPermissionDenied {
		t.Errorf("link made through loop: status %d", code)
	}
	for _, name := range []string{"pw", "loop/loop/pw"} {
		if _, err := os.Lstat(filepath.Join(home, name)); !os.IsNotExist(err) {
			t.Errorf("the refused link %s exists on the disk: %v", name, err)
		}
	}

	e := newEnv(t)
	out, err := e.batch(t.TempDir(), "bob", "", "ln -s . loop", "ln -s "+up+" pw")
	if err == nil || !strings.Contains(out, "ermission denied") {
		t.Errorf("ln -s out through loop: %v\n%s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(e.Home("bob"), "pw")); !os.IsNotExist(err) {
		t.Errorf("OpenSSH's link out exists on the disk: %v", err)
	}
	if !strings.Contains(e.Logs.String(), `reason="outside the home"`) {
		t.Errorf("the attempt was not logged:\n%s", e.Logs)
	}
}

// TestReaddirBatches reads a directory several READDIR batches long: every
// entry once, no batch above readdirBatch, the reserved directory never.
func TestReaddirBatches(t *testing.T) {
	home := t.TempDir()
	const n = 3*readdirBatch + 5
	for i := range n {
		os.WriteFile(filepath.Join(home, fmt.Sprintf("f%04d", i)), nil, 0o644)
	}
	os.Mkdir(filepath.Join(home, vfs.TempDir), 0o700)
	rc := newRawSession(t, home, false)
	rc.start()
	h := rc.handle(pkt(fxpOpendir, 1, "/"))
	seen := map[string]bool{}
	for id := uint32(2); ; id++ {
		rc.send(pkt(fxpReaddir, id, h))
		typ, body := rc.recv()
		d := decoder{b: body[4:]}
		if typ == fxpStatus {
			if code := d.u32(); code != fxEOF {
				t.Fatalf("READDIR: status %d", code)
			}
			break
		}
		count := d.u32()
		if count == 0 || count > readdirBatch {
			t.Fatalf("a NAME reply of %d entries", count)
		}
		for range count {
			seen[d.str()] = true
			d.str()
			d.attrs()
		}
	}
	if len(seen) != n || seen[vfs.TempDir] {
		t.Errorf("listed %d names (reserved directory: %v), want %d", len(seen), seen[vfs.TempDir], n)
	}
	if code, _ := rc.status(pkt(fxpClose, 99, h)); code != fxOK {
		t.Errorf("CLOSE of the directory: %d", code)
	}
}

// TestDiskFull fills a small tmpfs: the WRITE that fails and the CLOSE
// after it answer SSH_FX_FAILURE "No space left on device" (SFTP v3 has no
// better code), the upload is not published, its event is logged as
// failed, and no message names a server path.
func TestDiskFull(t *testing.T) {
	mnt := testutil.Tmpfs(t, "4m")
	home := filepath.Join(mnt, "raw")
	os.Mkdir(home, 0o755)
	rc := newRawSession(t, home, false)
	rc.start()
	h := rc.handle(pkt(fxpOpen, 1, "big.bin", uint32(fxfWrite|fxfCreat|fxfTrunc), uint32(0)))
	chunk := string(make([]byte, 32<<10))
	var code uint32
	var msg string
	for off := uint64(0); off < 8<<20; off += uint64(len(chunk)) {
		if code, msg = rc.status(pkt(fxpWrite, 2, h, off, chunk)); code != fxOK {
			break
		}
	}
	if code != fxFailure || msg != "No space left on device" {
		t.Fatalf("WRITE onto a full disk: %d %q", code, msg)
	}
	if code, msg := rc.status(pkt(fxpClose, 3, h)); code != fxFailure || msg != "No space left on device" {
		t.Errorf("CLOSE after the failed write: %d %q", code, msg)
	}
	if names := testutil.Home(t, home); len(names) != 0 {
		t.Fatalf("a failed upload was published: %v", names)
	}

	// The same with OpenSSH, for the log line.
	e := newEnv(t)
	pub, err := os.ReadFile(e.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(mnt, "full")
	if err := e.Store.Add(context.Background(), store.User{Name: "full", Home: full, Keys: []string{strings.TrimSpace(string(pub))}}); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	randomFile(t, filepath.Join(local, "big.bin"), 8<<20)
	if out, err := e.batch(local, "full", "", "put big.bin"); err == nil {
		t.Fatalf("put onto a full disk succeeded:\n%s", out)
	}
	if names := testutil.Home(t, full); len(names) != 0 {
		t.Fatalf("a failed OpenSSH upload was published: %v", names)
	}
	waitFor(t, "the failed upload's event", func() bool { return strings.Contains(e.Logs.String(), "path=/big.bin") })
	log := e.Logs.String()
	if !strings.Contains(log, "result=failed") || strings.Contains(log, "result=ok") || strings.Contains(log, mnt) {
		t.Errorf("the failed upload's log:\n%s", log)
	}
}
