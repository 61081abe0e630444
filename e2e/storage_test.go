package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestDiskFullEveryProtocol fills a home on a small tmpfs with an 8 MiB
// upload in each protocol, with the clients people use: FTPS (curl), SFTP
// (OpenSSH) and HTTPS (curl). No upload is published under its name, each
// client gets its protocol's disk-full answer, no answer names a server
// path, and the server logs no upload as a success.
func TestDiskFullEveryProtocol(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	mnt := testutil.Tmpfs(t, "4m")
	s := newServer(t, nil)
	const pw = "disk-full-pw"
	home := s.addUser("alice", pw, "--home", filepath.Join(mnt, "alice"))
	s.start()
	big := writeFile(t, filepath.Join(t.TempDir(), "big.bin"), testutil.RandomBytes(8<<20, 21))

	out, err := run(t, "", "curl", "-sS", "-v", "-k", "--ssl-reqd", "-u", "alice:"+pw, "-T", big, "ftp://"+s.addr(s.Cfg.FTP.Port)+"/ftp.bin")
	if err == nil || !strings.Contains(out, "452 Insufficient storage space") {
		t.Errorf("FTPS upload onto a full disk: %v\n%s", err, out)
	}
	checkNoPath(t, "FTPS", out, mnt)

	out, err = newSFTPClient(t, s).batch("alice", "", pw, nil, "put "+big+" sftp.bin")
	if err == nil || !strings.Contains(out, "Failure") && !strings.Contains(out, "No space left") {
		t.Errorf("SFTP upload onto a full disk: %v\n%s", err, out)
	}
	checkNoPath(t, "SFTP", out, mnt)

	out, err = run(t, "", "curl", "-sS", "-k", "-u", "alice:"+pw, "-T", big, "-w", " %{http_code}",
		"https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/web.bin")
	if err != nil || !strings.HasSuffix(out, `{"error":"insufficient storage: /web.bin"}`+"\n 507") {
		t.Errorf("HTTPS upload onto a full disk: %v\n%s", err, out)
	}
	checkNoPath(t, "HTTPS", out, mnt)

	if names := testutil.Home(t, home); len(names) != 0 {
		t.Errorf("failed uploads were published: %v", names)
	}
	for _, p := range []string{"path=/ftp.bin", "path=/sftp.bin"} {
		if !s.waitLog(p, 5*time.Second) {
			t.Errorf("no upload event for %s:\n%s", p, s.Logs())
		}
	}
	for _, line := range strings.Split(s.Logs(), "\n") {
		if strings.Contains(line, "bin") && strings.Contains(line, "result=ok") {
			t.Errorf("a failed upload logged as a success: %s", line)
		}
	}
}

func checkNoPath(t *testing.T, what, out, path string) {
	t.Helper()
	if strings.Contains(out, path) {
		t.Errorf("%s: the client was told a server path:\n%s", what, out)
	}
}

// TestInterruptedUploadsRemovedAtStart: a server killed with -9 in the
// middle of an upload leaves its temporary file; the next start removes
// it and says so.
func TestInterruptedUploadsRemovedAtStart(t *testing.T) {
	testutil.Need(t, "curl")
	s, home := ftpServer(t, nil)
	big := writeFile(t, filepath.Join(t.TempDir(), "big.bin"), testutil.RandomBytes(4<<20, 22))
	cmd := exec.Command("curl", "-sS", "-k", "--ssl-reqd", "--limit-rate", "256K", "-u", "alice:"+ftpPass, "-T", big,
		"ftp://"+s.addr(s.Cfg.FTP.Port)+"/big.bin")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for len(testutil.Uploading(home)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the upload did not start:\n%s", s.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	if len(testutil.Uploading(home)) != 1 {
		t.Fatal("kill -9 left no temporary upload: the test proves nothing")
	}
	s.start()
	if !s.waitLog("removed interrupted uploads", 10*time.Second) || !strings.Contains(s.Logs(), "files=1") {
		t.Errorf("the start did not report the removal:\n%s", s.Logs())
	}
	if names := testutil.Home(t, home); len(names) != 0 {
		t.Errorf("the interrupted upload shows in the home: %v", names)
	}
}
