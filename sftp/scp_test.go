package sftp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
)

// TestLegacySCP copies with OpenSSH's scp -O (the SCP protocol over
// exec): a file up and down, a tree with -r both ways, times with -p,
// and a refusal outside the home.
func TestLegacySCP(t *testing.T) {
	e := newEnv(t)
	local := t.TempDir()
	one := randomFile(t, filepath.Join(local, "one.bin"), 3<<20)
	tree := map[string][]byte{}
	for _, p := range []string{"tree/a.txt", "tree/sub/b.bin", "tree/sub/deeper/c.bin", "tree/empty.txt"} {
		tree[p] = randomFile(t, filepath.Join(local, p), len(p)*1000%7000)
	}
	old := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(filepath.Join(local, "one.bin"), old, old)
	scp := func(args ...string) (string, error) {
		a := append([]string{"-O", "-q", "-P", strconv.Itoa(e.port)}, e.sshOpts(e.keyOpts()...)...)
		out, err := exec.Command("scp", append(a, args...)...).CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) {
		t.Helper()
		if out, err := scp(args...); err != nil {
			t.Fatalf("scp %v: %v\n%s\nserver log:\n%s", args, err, out, e.Logs)
		}
	}
	home := e.Home("bob")
	must("-p", filepath.Join(local, "one.bin"), "bob@127.0.0.1:one.bin")
	sameFile(t, one, filepath.Join(home, "one.bin"))
	if fi, err := os.Stat(filepath.Join(home, "one.bin")); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("scp -p: mtime %v, want %v", fi.ModTime(), old)
	}
	must("-r", filepath.Join(local, "tree"), "bob@127.0.0.1:")
	for p, b := range tree {
		sameFile(t, b, filepath.Join(home, p))
	}
	back := t.TempDir()
	must("-p", "bob@127.0.0.1:one.bin", back)
	sameFile(t, one, filepath.Join(back, "one.bin"))
	if fi, err := os.Stat(filepath.Join(back, "one.bin")); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("scp -p download: mtime %v, want %v", fi.ModTime(), old)
	}
	must("-r", "bob@127.0.0.1:tree", back)
	for p, b := range tree {
		sameFile(t, b, filepath.Join(back, p))
	}
	if out, err := scp("bob@127.0.0.1:../../etc/passwd", back); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("scp from outside the home: %v %q", err, out)
	}
	if out, err := scp(filepath.Join(local, "one.bin"), "bob@127.0.0.1:nodir/x.bin"); err == nil {
		t.Errorf("scp into a missing folder succeeded: %q", out)
	}
	if !strings.Contains(e.Logs.String(), "via=scp") {
		t.Error("no scp event logged")
	}
}

// TestSCPStall: an scp upload that stops sending is cut after
// limits.stall_timeout, logged aborted as a stall, and publishes nothing.
func TestSCPStall(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Limits.StallTimeout = config.Duration{Duration: time.Second}
	})
	args := append([]string{"-p", strconv.Itoa(e.port)}, e.sshOpts(e.keyOpts()...)...)
	cmd := exec.Command("ssh", append(args, "bob@127.0.0.1", "scp -t stalled.bin")...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.Write([]byte("C0644 1000000 stalled.bin\n0123456789")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the stalled scp upload still runs after 20 s\nserver log:\n%s", e.Logs)
	}
	t.Logf("channel closed after %v", time.Since(start))
	waitFor(t, "the upload's event", func() bool {
		return strings.Contains(e.Logs.String(), "event=upload path=/stalled.bin")
	})
	logs := e.Logs.String()
	if !strings.Contains(logs, "result=aborted") || !strings.Contains(logs, "limits.stall_timeout") {
		t.Errorf("the stall is not logged as one:\n%s", logs)
	}
	if _, err := os.Stat(filepath.Join(e.Home("bob"), "stalled.bin")); err == nil {
		t.Error("the stalled upload was published")
	}
}
