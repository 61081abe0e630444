package client

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sftpURL(port int, p string) string {
	return fmt.Sprintf("sftp://root@127.0.0.1:%d%s", port, p)
}

// TestOpenSSH runs every operation and an interrupted transfer against
// OpenSSH's sftp-server, logging in with an identity file.
func TestOpenSSH(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	var notes strings.Builder
	o.Notice = &notes
	base := t.TempDir()
	c := dial(t, sftpURL(s.Port, base), o)
	roundTrip(t, c, base)
	resumeBoth(t, c, filepath.Join(base, "big.bin"))
	if !strings.Contains(notes.String(), "trusting its ssh-ed25519 key") {
		t.Fatalf("no first-use notice: %q", notes.String())
	}
}

// TestSSHAgent logs in with a key held only by ssh-agent.
func TestSSHAgent(t *testing.T) {
	s := startSSHD(t, 0, "")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitSocket(t, sock)
	add := exec.Command("ssh-add", s.Identity)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	o := testOptions(t)
	c := dial(t, sftpURL(s.Port, "/"), o)
	if _, err := c.List("/"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	target, _ := ParseURL(sftpURL(s.Port, "/"))
	_, err := Dial(target, o)
	if ExitCode(err) != ExitAuth {
		t.Fatalf("login without key or password: %v (exit %d), want exit %d", err, ExitCode(err), ExitAuth)
	}
}

func waitSocket(t *testing.T, p string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(p); err == nil {
			return
		}
		exec.Command("sleep", "0.02").Run()
	}
	t.Fatalf("%s did not appear", p)
}

// TestChangedHostKey records the host key on first use (OpenSSH
// known_hosts format) and refuses a different key on the same address.
func TestChangedHostKey(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	dial(t, sftpURL(s.Port, "/"), o).Close()
	known, _ := os.ReadFile(o.SSHKnownHosts)
	if !strings.HasPrefix(string(known), fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", s.Port)) {
		t.Fatalf("known_hosts: %q", known)
	}
	check := exec.Command("ssh-keygen", "-F", fmt.Sprintf("[127.0.0.1]:%d", s.Port), "-f", o.SSHKnownHosts)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("OpenSSH does not find the recorded key: %v: %s", err, out)
	}
	dial(t, sftpURL(s.Port, "/"), o).Close()
	s.stop()
	s2 := startSSHD(t, s.Port, s.Identity)
	target, _ := ParseURL(sftpURL(s2.Port, "/"))
	_, err := Dial(target, o)
	if ExitCode(err) != ExitTrust || !strings.Contains(err.Error(), "CHANGED") {
		t.Fatalf("changed host key: %v (exit %d), want a clear refusal with exit %d", err, ExitCode(err), ExitTrust)
	}
}
