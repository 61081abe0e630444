package sftp

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestRcloneHashesAndAbout: rclone's sftp backend compares hashes through
// the md5sum and sha1sum exec commands (rclone check finds every file
// checked, none "could not be checked"), prints the home file system's
// sizes (rclone about, statvfs@openssh.com), and OpenSSH's sftp df -h
// works.
func TestRcloneHashesAndAbout(t *testing.T) {
	testutil.Need(t, "rclone")
	e := newEnv(t)
	src := t.TempDir()
	want := map[string]string{}
	for i := range 30 {
		rel := fmt.Sprintf("d%d/file %d.bin", i%4, i)
		b := randomFile(t, filepath.Join(src, rel), i*1000+1)
		sum := md5.Sum(b)
		want[rel] = hex.EncodeToString(sum[:])
	}
	// The hash commands are named: rclone's own detection pipes
	// "echo 'abc'" into them through a shell, which ferry does not have.
	remote := fmt.Sprintf(":sftp,host=127.0.0.1,port=%d,user=bob,key_file='%s',shell_type=unix,md5sum_command=md5sum,sha1sum_command=sha1sum:",
		e.port, e.key)
	rclone := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("rclone", append([]string{"--config", "/dev/null", "--retries", "1", "--low-level-retries", "1"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	rclone("copy", src, remote+"tree")
	out := rclone("check", src, remote+"tree")
	if !strings.Contains(out, "0 differences found") || !strings.Contains(out, "30 matching files") || strings.Contains(out, "could not be checked") {
		t.Errorf("rclone check:\n%s", out)
	}
	out = rclone("md5sum", remote+"tree")
	for rel, sum := range want {
		if !strings.Contains(out, sum+"  "+rel+"\n") {
			t.Errorf("rclone md5sum lacks %s  %s:\n%s", sum, rel, out)
		}
	}
	out = rclone("about", remote)
	if !strings.Contains(out, "Total:") || !strings.Contains(out, "Free:") {
		t.Errorf("rclone about:\n%s", out)
	}
	out = e.mustBatch(t.TempDir(), "bob", "", "df -h")
	if !strings.Contains(out, "Size") || !strings.Contains(out, "Avail") {
		t.Errorf("sftp df -h:\n%s", out)
	}
}

// TestExecOnlyHashes runs commands over OpenSSH's ssh: a hash command
// prints what sha256sum prints, in rclone's escaped form too; a missing
// file fails with the file system's message; anything else is refused
// and nothing executes.
func TestExecOnlyHashes(t *testing.T) {
	e := newEnv(t)
	body := randomFile(t, filepath.Join(e.Home("bob"), "a b.bin"), 100000)
	sum := sha256.Sum256(body)
	ssh := func(cmd string) (string, error) {
		args := append(e.sshOpts(e.keyOpts()...), "-p", strconv.Itoa(e.port), "bob@127.0.0.1", cmd)
		out, err := exec.Command("ssh", args...).CombinedOutput()
		return string(out), err
	}
	out, err := ssh(`sha256sum a\ b.bin`)
	if err != nil || out != hex.EncodeToString(sum[:])+"  a b.bin\n" {
		t.Errorf("sha256sum: %v %q", err, out)
	}
	out, err = ssh(`sha256sum 'a b.bin'`)
	if err != nil || !strings.HasPrefix(out, hex.EncodeToString(sum[:])) {
		t.Errorf("sha256sum quoted: %v %q", err, out)
	}
	out, err = ssh(`md5sum missing`)
	if err == nil || !strings.Contains(out, "md5sum: missing: No such file or directory") {
		t.Errorf("md5sum of a missing file: %v %q", err, out)
	}
	out, err = ssh(`md5sum ../../etc/passwd`)
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("md5sum outside the home: %v %q", err, out)
	}
	for _, cmd := range []string{`md5sum a\ b.bin; rm a\ b.bin`, `rm 'a b.bin'`, `md5sum $(rm 'a b.bin')`, `md5sum`, `sh -c 'rm *'`} {
		if out, err := ssh(cmd); err == nil {
			t.Errorf("%q was accepted: %q", cmd, out)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Home("bob"), "a b.bin")); err != nil {
		t.Errorf("a refused command touched the file: %v", err)
	}
}

// TestHardlinkWithOpenSSH: OpenSSH sftp's ln (hardlink@openssh.com)
// links inside the home and is refused out of it.
func TestHardlinkWithOpenSSH(t *testing.T) {
	e := newEnv(t)
	body := randomFile(t, filepath.Join(e.Home("bob"), "a.bin"), 4096)
	e.mustBatch(t.TempDir(), "bob", "", "ln a.bin b.bin")
	a, _ := os.Stat(filepath.Join(e.Home("bob"), "a.bin"))
	b, err := os.Stat(filepath.Join(e.Home("bob"), "b.bin"))
	if err != nil || !os.SameFile(a, b) {
		t.Fatalf("b.bin is not a hard link of a.bin: %v", err)
	}
	sameFile(t, body, filepath.Join(e.Home("bob"), "b.bin"))
	if want := `event=link path=/b.bin target=/a.bin`; !strings.Contains(e.Logs.String(), want) {
		t.Errorf("log lacks %q", want)
	}
	for _, cmd := range []string{"ln a.bin ../x.bin", "ln ../../../etc/passwd p", "ln a.bin b.bin"} {
		if out, err := e.batch(t.TempDir(), "bob", "", cmd); err == nil {
			t.Errorf("%q succeeded: %s", cmd, out)
		}
	}
	if _, err := os.Lstat(filepath.Join(e.Home("bob"), "p")); err == nil {
		t.Error("a link to /etc/passwd was made")
	}
}
