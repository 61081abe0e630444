package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// sftpClient runs the OpenSSH clients against one ferry server.
type sftpClient struct {
	t     *testing.T
	s     *server
	known string
}

func newSFTPClient(t *testing.T, s *server) *sftpClient {
	return &sftpClient{t: t, s: s, known: filepath.Join(t.TempDir(), "known_hosts")}
}

// opts are the ssh options for a login; key "" means password (sshpass).
// OpenSSH takes the first value of an option, so extra comes first.
func (c *sftpClient) opts(key string, extra ...string) []string {
	o := append([]string{}, extra...)
	o = append(o, "-F", "/dev/null", "-o", "UserKnownHostsFile="+c.known, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10")
	if key == "" {
		return append(o, "-o", "BatchMode=no", "-o", "PubkeyAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-o", "NumberOfPasswordPrompts=1")
	}
	return append(o, "-o", "IdentityFile="+key, "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no")
}

// batch runs `sftp -b` with cmds as user, logging in with key or, when key
// is "", with password through sshpass.
func (c *sftpClient) batch(user, key, password string, extra []string, cmds ...string) (string, error) {
	c.t.Helper()
	bf := filepath.Join(c.t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(strings.Join(cmds, "\n")+"\n"), 0o600); err != nil {
		c.t.Fatal(err)
	}
	args := append(c.opts(key, extra...), "-P", strconv.Itoa(c.s.Cfg.SFTP.Port), "-b", bf, user+"@"+c.s.host())
	if key == "" {
		return run(c.t, "", "sshpass", append([]string{"-p", password, "sftp"}, args...)...)
	}
	return run(c.t, "", "sftp", args...)
}

func sftpKey(t *testing.T, dir string) (private, pubFile string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	private = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(private, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	pubFile = private + ".pub"
	if err := os.WriteFile(pubFile, ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return private, pubFile
}

// TestSFTP drives `ferry serve` with OpenSSH sftp and ssh: users and keys
// made with `ferry user`, password and key logins, a round trip, the host
// key across a restart, exec refused, and `ferry user key` taking effect on
// the running server.
func TestSFTP(t *testing.T) {
	testutil.Need(t, "sftp", "ssh", "sshpass", "ssh-keygen")
	s := newServer(t, nil)
	dir := t.TempDir()
	key, pub := sftpKey(t, dir)
	aliceHome := s.addUser("alice", "alice-pw")
	if out, err := s.ferry("", "user", "add", "bob", "--key", pub); err != nil {
		t.Fatalf("ferry user add --key: %v\n%s", err, out)
	}
	bobHome := filepath.Join(s.Cfg.DataDir, "homes", "bob")
	s.start()
	c := newSFTPClient(t, s)

	data := testutil.RandomBytes(1<<20, 3)
	src := filepath.Join(dir, "up.bin")
	os.WriteFile(src, data, 0o644)
	if out, err := c.batch("alice", "", "alice-pw", nil, "put "+src+" up.bin", "get up.bin "+filepath.Join(dir, "down.bin")); err != nil {
		t.Fatalf("password login: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(aliceHome, "up.bin")); !bytes.Equal(got, data) {
		t.Fatal("uploaded bytes differ")
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "down.bin")); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ")
	}
	if out, err := c.batch("bob", key, "", nil, "put "+src+" k.bin"); err != nil {
		t.Fatalf("key login: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(bobHome, "k.bin")); !bytes.Equal(got, data) {
		t.Fatal("key user's upload differs")
	}
	if out, err := c.batch("alice", "", "wrong", nil, "pwd"); err == nil {
		t.Fatalf("wrong password accepted: %s", out)
	}
	if !s.waitLog("event=login.failed", 5*time.Second) {
		t.Error("failed login not logged")
	}

	// The fingerprints logged at start are what ssh-keygen -l prints.
	for _, name := range []string{"ssh_host_ed25519_key.pub", "ssh_host_rsa_key.pub"} {
		out, err := exec.Command("ssh-keygen", "-l", "-f", filepath.Join(s.Cfg.DataDir, name)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if fp := strings.TrimSpace(string(out)); !strings.Contains(s.Logs(), fp) {
			t.Errorf("log lacks %q:\n%s", fp, s.Logs())
		}
	}

	// exec is refused; sftp still works on the same server.
	args := append(c.opts(key), "-p", strconv.Itoa(s.Cfg.SFTP.Port), "-T", "bob@"+s.host(), "ls")
	if out, err := run(t, "", "ssh", args...); err == nil {
		t.Fatalf("ssh exec succeeded: %s", out)
	}

	// The key the client learned still matches after a restart.
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	s.start()
	if out, err := c.batch("bob", key, "", []string{"-o", "StrictHostKeyChecking=yes"}, "ls"); err != nil {
		t.Fatalf("after restart: %v\n%s", err, out)
	}

	// ferry user key: a second key works at once, deleting it locks it out.
	key2, pub2 := sftpKey(t, t.TempDir())
	if out, err := s.ferry("", "user", "key", "add", "alice", "--key", pub2); err != nil {
		t.Fatalf("user key add: %v\n%s", err, out)
	}
	out, err := s.ferry("", "user", "key", "list", "alice")
	if err != nil || !strings.Contains(out, "(ED25519)") {
		t.Fatalf("user key list: %v\n%s", err, out)
	}
	fp := strings.Fields(out)[1]
	if out, err := c.batch("alice", key2, "", nil, "pwd"); err != nil {
		t.Fatalf("login with the added key: %v\n%s", err, out)
	}
	if out, err := s.ferry("", "user", "key", "del", "alice", fp); err != nil {
		t.Fatalf("user key del: %v\n%s", err, out)
	}
	if out, err := c.batch("alice", key2, "", nil, "pwd"); err == nil {
		t.Fatalf("deleted key still logs in: %s", out)
	}
}

// TestSFTPShutdownFinishesUpload sends SIGTERM during a slow upload: the
// server stops accepting, lets the upload finish, then exits cleanly.
func TestSFTPShutdownFinishesUpload(t *testing.T) {
	testutil.Need(t, "sftp", "sshpass")
	s := newServer(t, nil)
	home := s.addUser("alice", "alice-pw")
	s.start()
	c := newSFTPClient(t, s)
	data := testutil.RandomBytes(1<<20, 5)
	src := filepath.Join(t.TempDir(), "slow.bin")
	os.WriteFile(src, data, 0o644)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		// 4000 kbit/s: the megabyte takes about two seconds.
		out, err := c.batch("alice", "", "alice-pw", []string{"-l", "4000"}, "put "+src+" slow.bin")
		done <- result{out, err}
	}()
	waitUpload := time.Now().Add(20 * time.Second)
	for {
		if len(testutil.Uploading(home)) > 0 {
			break
		}
		if time.Now().After(waitUpload) {
			t.Fatalf("upload did not start:\n%s", s.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("upload cut by shutdown: %v\n%s\n%s", r.err, r.out, s.Logs())
	}
	if got, _ := os.ReadFile(filepath.Join(home, "slow.bin")); !bytes.Equal(got, data) {
		t.Fatal("upload incomplete after a graceful shutdown")
	}
}
