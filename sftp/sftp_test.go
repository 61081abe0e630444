package sftp

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestTransfersWithOpenSSH moves files both ways with the OpenSSH sftp
// client (key authentication) and checks every byte.
func TestTransfersWithOpenSSH(t *testing.T) {
	e := newEnv(t)
	local := t.TempDir()
	empty := randomFile(t, filepath.Join(local, "empty.bin"), 0)
	mib := randomFile(t, filepath.Join(local, "one.bin"), 1<<20)
	utf := randomFile(t, filepath.Join(local, "Grüße 日本.txt"), 1234)
	tree := map[string][]byte{}
	for _, p := range []string{"tree/a.txt", "tree/sub/b.bin", "tree/sub/deeper/c.bin"} {
		tree[p] = randomFile(t, filepath.Join(local, p), 4096+len(p))
	}
	e.mustBatch(local, "bob", "",
		"put empty.bin", "put one.bin", `put "Grüße 日本.txt"`, "put -r tree")
	sameFile(t, empty, filepath.Join(e.Home("bob"), "empty.bin"))
	sameFile(t, mib, filepath.Join(e.Home("bob"), "one.bin"))
	sameFile(t, utf, filepath.Join(e.Home("bob"), "Grüße 日本.txt"))
	for p, b := range tree {
		sameFile(t, b, filepath.Join(e.Home("bob"), p))
	}

	back := t.TempDir()
	e.mustBatch(back, "bob", "",
		"get empty.bin", "get one.bin", `get "Grüße 日本.txt"`, "get -r tree")
	sameFile(t, empty, filepath.Join(back, "empty.bin"))
	sameFile(t, mib, filepath.Join(back, "one.bin"))
	sameFile(t, utf, filepath.Join(back, "Grüße 日本.txt"))
	for p, b := range tree {
		sameFile(t, b, filepath.Join(back, p))
	}
	testutil.Home(t, e.Home("bob")) // fails on temporary files left
	if !strings.Contains(e.Logs.String(), "event=upload") || !strings.Contains(e.Logs.String(), "method=\"publickey SHA256:") {
		t.Fatalf("log lacks the login or the upload:\n%s", e.Logs.String())
	}
}

// TestPasswordLoginAndLockout logs in with sshpass, and checks that wrong
// passwords lock the address out for every user.
func TestPasswordLoginAndLockout(t *testing.T) {
	testutil.Need(t, "sshpass")
	e := newEnv(t, func(c *config.Config) { c.Lockout.MaxFailures = 3 })
	out := e.mustBatch(t.TempDir(), "alice", testserver.Password, "pwd")
	if !strings.Contains(out, "Remote working directory: /") {
		t.Fatalf("pwd: %s", out)
	}
	// Two bad passwords and one connection offering only an unknown key.
	for i := 0; i < 2; i++ {
		if out, err := e.batch(t.TempDir(), "alice", "wrong", "pwd"); err == nil {
			t.Fatalf("wrong password accepted: %s", out)
		}
	}
	other := filepath.Join(t.TempDir(), "other")
	testserver.WriteKey(t, other)
	e.key = other
	if out, err := e.batch(t.TempDir(), "bob", "", "pwd"); err == nil {
		t.Fatalf("unknown key accepted: %s", out)
	}
	// The server counts the key-only failure when the connection ends,
	// which may be just after the client has exited.
	waitFor(t, "the lockout after 3 failed logins", func() bool {
		locked, _ := e.Auth.Lockout.Locked(net.ParseIP("127.0.0.1"))
		return locked
	})
	if out, err := e.batch(t.TempDir(), "alice", testserver.Password, "pwd"); err == nil {
		t.Fatalf("locked-out address logged in: %s", out)
	}
	log := e.Logs.String()
	for _, want := range []string{"event=login.failed user=alice method=password reason=denied", "event=login.failed user=bob method=publickey reason=denied", "locked out"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "wrong") {
		t.Error("the log contains a password")
	}
}

// TestFileOperations covers rename, mkdir, rmdir, rm, ls -l and staying in
// the home.
func TestFileOperations(t *testing.T) {
	e := newEnv(t)
	h := e.Home("bob")
	randomFile(t, filepath.Join(h, "a.txt"), 300)
	if err := os.Chmod(filepath.Join(h, "a.txt"), 0o640); err != nil {
		t.Fatal(err)
	}
	out := e.mustBatch(t.TempDir(), "bob", "",
		"mkdir d1", "mkdir d2", "rename a.txt d1/b.txt", "rmdir d2", "ls -l d1",
		"cd ..", "cd ../../..", "pwd", "ls -l /")
	if _, err := os.Stat(filepath.Join(h, "d1/b.txt")); err != nil {
		t.Fatal("rename did not move the file:", err)
	}
	if _, err := os.Stat(filepath.Join(h, "d2")); !os.IsNotExist(err) {
		t.Fatal("rmdir left d2")
	}
	if !regexpMatch(`-rw-r-----\s+1\s+bob\s+bob\s+300 .* b\.txt`, out) {
		t.Fatalf("ls -l lacks b.txt's mode, owner and size:\n%s", out)
	}
	if !strings.Contains(out, "Remote working directory: /\n") {
		t.Fatalf("cd .. left the home:\n%s", out)
	}
	if !regexpMatch(`drwxr-xr-x\s+\d+\s+bob\s+bob\s+\d+ .* d1\n`, out) {
		t.Fatalf("ls -l / does not show the home's d1:\n%s", out)
	}
	e.mustBatch(t.TempDir(), "bob", "", "rm d1/b.txt", "rmdir d1")
	if ents := testutil.Home(t, h); len(ents) != 0 {
		t.Fatalf("home not empty after rm and rmdir: %v", ents)
	}
	// rename onto an existing file uses posix-rename and replaces it.
	randomFile(t, filepath.Join(h, "x"), 10)
	y := randomFile(t, filepath.Join(h, "y"), 20)
	e.mustBatch(t.TempDir(), "bob", "", "rename y x")
	sameFile(t, y, filepath.Join(h, "x"))
	// Errors reach the client and change nothing.
	if out, err := e.batch(t.TempDir(), "bob", "", "rmdir nothere"); err == nil {
		t.Fatalf("rmdir of a missing directory succeeded: %s", out)
	}
}

// TestReadOnlyUser: carol may read but not write, rename or delete.
func TestReadOnlyUser(t *testing.T) {
	testutil.Need(t, "sshpass")
	e := newEnv(t)
	h := e.Home("carol")
	data := randomFile(t, filepath.Join(h, "r.txt"), 100)
	local := t.TempDir()
	randomFile(t, filepath.Join(local, "w.txt"), 10)
	e.mustBatch(local, "carol", testserver.Password, "get r.txt")
	sameFile(t, data, filepath.Join(local, "r.txt"))
	for _, cmd := range []string{"put w.txt", "rm r.txt", "rename r.txt s.txt", "mkdir d", "chmod 600 r.txt", "ln -s r.txt l"} {
		out, err := e.batch(local, "carol", testserver.Password, cmd)
		if err == nil {
			t.Errorf("read-only user ran %q: %s", cmd, out)
		}
		if !strings.Contains(out, "ermission denied") {
			t.Errorf("%q: want a permission error, got %s", cmd, out)
		}
	}
	ents := testutil.Home(t, h)
	if len(ents) != 1 {
		t.Fatalf("read-only home changed: %v", ents)
	}
	sameFile(t, data, filepath.Join(h, "r.txt"))
}

// TestResume interrupts nothing but asks for reget and reput on partial
// files, as a client resuming a broken transfer does.
func TestResume(t *testing.T) {
	e := newEnv(t)
	h := e.Home("bob")
	local := t.TempDir()
	full := randomFile(t, filepath.Join(h, "down.bin"), 3<<20)
	if err := os.WriteFile(filepath.Join(local, "down.bin"), full[:1<<20+7], 0o644); err != nil {
		t.Fatal(err)
	}
	up := randomFile(t, filepath.Join(local, "up.bin"), 3<<20)
	if err := os.WriteFile(filepath.Join(h, "up.bin"), up[:2<<20+5], 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustBatch(local, "bob", "", "reget down.bin", "reput up.bin")
	sameFile(t, full, filepath.Join(local, "down.bin"))
	sameFile(t, up, filepath.Join(h, "up.bin"))
	// Only the missing parts travel, and the reput is written in place.
	log := e.Logs.String()
	if !strings.Contains(log, "path=/down.bin bytes="+strconv.Itoa(len(full)-(1<<20+7))) {
		t.Fatalf("reget did not resume at the local size:\n%s", log)
	}
	if !regexp.MustCompile(`path=/up.bin bytes=` + strconv.Itoa(len(up)-(2<<20+5)) + ` .* atomic=false`).MatchString(log) {
		t.Fatalf("reput did not resume in place:\n%s", log)
	}
}

// TestScp copies both ways with OpenSSH scp, which speaks SFTP.
func TestScp(t *testing.T) {
	e := newEnv(t)
	local := t.TempDir()
	data := randomFile(t, filepath.Join(local, "s.bin"), 200000)
	randomFile(t, filepath.Join(local, "dir/x"), 10)
	args := append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "-r", "s.bin", "dir", "bob@127.0.0.1:")...)
	if out, err := run(t, local, "scp", args...); err != nil {
		t.Fatalf("scp up: %v\n%s\n%s", err, out, e.Logs.String())
	}
	sameFile(t, data, filepath.Join(e.Home("bob"), "s.bin"))
	back := t.TempDir()
	args = append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "bob@127.0.0.1:s.bin", "bob@127.0.0.1:~/dir/x", back)...)
	if out, err := run(t, local, "scp", args...); err != nil {
		t.Fatalf("scp down: %v\n%s\n%s", err, out, e.Logs.String())
	}
	sameFile(t, data, filepath.Join(back, "s.bin"))
	if _, err := os.Stat(filepath.Join(back, "x")); err != nil {
		t.Fatal(err)
	}
}

// TestOnlySFTP: exec, shell and forwarding are refused.
func TestOnlySFTP(t *testing.T) {
	e := newEnv(t)
	for _, extra := range [][]string{
		{"-T", "bob@127.0.0.1", "ls", "/"},
		{"-T", "bob@127.0.0.1"},
		{"-N", "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:1:127.0.0.1:1", "-R", "127.0.0.1:0:127.0.0.1:1", "bob@127.0.0.1"},
	} {
		args := append(e.keyOpts(), e.sshOpts(append([]string{"-p", strconv.Itoa(e.port)}, extra...)...)...)
		out, err := run(t, t.TempDir(), "ssh", args...)
		if err == nil {
			t.Errorf("ssh %q succeeded: %s", extra, out)
		}
	}
	log := e.Logs.String()
	for _, want := range []string{`type=exec detail="ls /"`, "type=shell"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks refused %q:\n%s", want, log)
		}
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
