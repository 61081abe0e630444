package sftp

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestHostKeys: keys are generated once, reused, and logged as ssh-keygen -l
// prints them; a client that learned the key still trusts the restarted
// server.
func TestHostKeys(t *testing.T) {
	testutil.Need(t, "ssh-keygen")
	dir := t.TempDir()
	first, err := loadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadHostKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range first {
		if again[i].fingerprint != k.fingerprint {
			t.Fatalf("key %d changed on reload: %s -> %s", i, k.fingerprint, again[i].fingerprint)
		}
	}
	for i, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want 0600", name, err, fi.Mode())
		}
		out, err := exec.Command("ssh-keygen", "-l", "-f", filepath.Join(dir, name+".pub")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != first[i].fingerprint {
			t.Errorf("logged %q, ssh-keygen -l prints %q", first[i].fingerprint, got)
		}
	}
	if !strings.HasPrefix(first[1].fingerprint, "3072 SHA256:") || !strings.HasSuffix(first[1].fingerprint, "(RSA)") {
		t.Errorf("RSA key: %s", first[1].fingerprint)
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh_host_rsa_key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadHostKeys(dir); err == nil || !strings.Contains(err.Error(), "ssh_host_rsa_key") {
		t.Fatalf("a corrupt key file: %v; want an error naming it", err)
	}

	// The client learns each key type on first contact, then insists on it
	// after a restart.
	e := newEnv(t)
	algos := []string{"ssh-ed25519", "rsa-sha2-512"}
	connect := func(algo, check string) (string, error) {
		known := filepath.Join(e.Dir, "known_"+algo)
		args := append([]string{"-o", "HostKeyAlgorithms=" + algo, "-o", "UserKnownHostsFile=" + known, "-o", "StrictHostKeyChecking=" + check}, e.keyOpts()...)
		args = append(args, e.sshOpts("-P", strconv.Itoa(e.port), "-b", "/dev/null", "bob@127.0.0.1")...)
		return run(t, t.TempDir(), "sftp", args...)
	}
	for _, algo := range algos {
		if out, err := connect(algo, "accept-new"); err != nil {
			t.Fatalf("%s: %v\n%s", algo, err, out)
		}
	}
	e.serving.Stop()
	e.start()
	for _, algo := range algos {
		if out, err := connect(algo, "yes"); err != nil {
			t.Fatalf("%s host key changed across a restart: %v\n%s", algo, err, out)
		}
	}
}

// TestAlgorithms: the server offers no SHA-1 key exchange, MAC or host key
// signature and no CBC cipher, and accepts each modern choice.
func TestAlgorithms(t *testing.T) {
	e := newEnv(t)
	// The first value of an option wins in OpenSSH, so ours come first.
	try := func(opt string) error {
		args := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"}
		for _, o := range strings.Split(opt, " ") {
			args = append(args, "-o", o)
		}
		args = append(append(args, e.keyOpts()...), e.sshOpts("-P", strconv.Itoa(e.port), "-b", "/dev/null", "bob@127.0.0.1")...)
		_, err := run(t, t.TempDir(), "sftp", args...)
		return err
	}
	for _, bad := range []string{
		"Ciphers=aes128-cbc,aes256-cbc,3des-cbc",
		"Ciphers=aes128-ctr MACs=hmac-sha1,hmac-sha1-etm@openssh.com,umac-64-etm@openssh.com",
		"KexAlgorithms=diffie-hellman-group14-sha1,diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1",
		"HostKeyAlgorithms=ssh-rsa",
	} {
		if try(bad) == nil {
			t.Errorf("connected with %s", bad)
		}
	}
	for _, good := range []string{
		"Ciphers=aes128-gcm@openssh.com", "Ciphers=aes256-gcm@openssh.com", "Ciphers=chacha20-poly1305@openssh.com",
		"Ciphers=aes256-ctr", "Ciphers=aes128-ctr MACs=hmac-sha2-512-etm@openssh.com", "Ciphers=aes192-ctr MACs=hmac-sha2-256-etm@openssh.com", "KexAlgorithms=curve25519-sha256",
		"KexAlgorithms=ecdh-sha2-nistp256", "HostKeyAlgorithms=rsa-sha2-256", "HostKeyAlgorithms=ssh-ed25519",
	} {
		if err := try(good); err != nil {
			t.Errorf("%s refused: %v", good, err)
		}
	}
}

// TestAbortedUpload kills the OpenSSH client in the middle of a put: the
// name the client asked for must not appear, and the partial data is gone.
func TestAbortedUpload(t *testing.T) {
	e := newEnv(t)
	local := t.TempDir()
	randomFile(t, filepath.Join(local, "big.bin"), 64<<20)
	bf := filepath.Join(local, "batch")
	os.WriteFile(bf, []byte("put big.bin\n"), 0o600)
	args := append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "-l", "80000", "-b", bf, "bob@127.0.0.1")...)
	cmd := exec.Command("sftp", args...)
	cmd.Dir = local
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so the kill reaches ssh too
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	home := e.Home("bob")
	waitFor(t, "the upload to start", func() bool {
		m := testutil.Uploading(home)
		if len(m) == 0 {
			return false
		}
		fi, err := os.Stat(m[0])
		return err == nil && fi.Size() > 1<<20
	})
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	waitFor(t, "the server to discard the upload", func() bool {
		return len(testutil.Uploading(home)) == 0
	})
	if _, err := os.Stat(filepath.Join(home, "big.bin")); !os.IsNotExist(err) {
		t.Fatalf("a killed upload left big.bin: %v", err)
	}
	if !strings.Contains(e.Logs.String(), "result=aborted") {
		t.Fatalf("log lacks the incomplete upload:\n%s", e.Logs.String())
	}
}

// TestSymlinksStayHome: links that point out of the home are not followed,
// and clients cannot create them.
func TestSymlinksStayHome(t *testing.T) {
	e := newEnv(t)
	h := e.Home("bob")
	outside := t.TempDir()
	randomFile(t, filepath.Join(outside, "secret"), 10)
	if err := os.Symlink(outside, filepath.Join(h, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(h, "abs")); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	for _, cmd := range []string{"get escape/secret", "get abs", "put /etc/hostname escape/x", "ln -s ../.. up", "ln -s /etc etc"} {
		if out, err := e.batch(local, "bob", "", cmd); err == nil {
			t.Errorf("%q succeeded: %s", cmd, out)
		}
	}
	if out, _ := e.batch(local, "bob", "", "ls -l escape/"); strings.Contains(out, "secret") {
		t.Errorf("listing through the link shows the outside directory: %s", out)
	}
	if ents, _ := os.ReadDir(local); len(ents) != 0 {
		t.Fatalf("files came from outside the home: %v", ents)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Fatalf("a file was written outside the home: %v", ents)
	}
	randomFile(t, filepath.Join(h, "in.txt"), 5)
	e.mustBatch(local, "bob", "", "ln -s in.txt link", "get link")
	if fi, err := os.Lstat(filepath.Join(h, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("relative link inside the home was not created: %v", err)
	}
	if want := `event=link path=/link target=in.txt`; !strings.Contains(e.Logs.String(), want) {
		t.Errorf("log lacks %q", want)
	}
}

// TestLimits: the per-IP connection limit, the login timeout and the idle
// timeout.
func TestLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Limits.MaxConnectionsPerIP = 1
		c.Limits.LoginTimeout = config.Duration{Duration: 500 * time.Millisecond}
		c.Limits.IdleTimeout = config.Duration{Duration: 1500 * time.Millisecond}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port))
	// A connection that never logs in is cut at the login timeout and
	// holds the only slot until then.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	banner, _ := bufio.NewReader(silent).ReadString('\n')
	if !strings.HasPrefix(banner, "SSH-2.0-ferry") {
		t.Fatalf("banner %q", banner)
	}
	if out, err := e.batch(t.TempDir(), "bob", "", "pwd"); err == nil {
		t.Fatalf("second connection from one IP accepted: %s", out)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := io.Copy(io.Discard, silent); err != nil {
		t.Fatalf("silent connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("login timeout took %v", d)
	}
	waitFor(t, "the slot to be released", func() bool { return strings.Contains(e.Logs.String(), "closed before login") })
	e.mustBatch(t.TempDir(), "bob", "", "pwd")
	if !strings.Contains(e.Logs.String(), "too many connections from your address") {
		t.Fatalf("log lacks the refused connection:\n%s", e.Logs.String())
	}

	// An SFTP session with no traffic is closed at the idle timeout.
	args := append(e.keyOpts(), e.sshOpts("-p", strconv.Itoa(e.port), "-s", "bob@127.0.0.1", "sftp")...)
	cmd := exec.Command("ssh", args...)
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("idle session not closed")
	}
	if !strings.Contains(e.Logs.String(), "sftp idle timeout") {
		t.Fatalf("log lacks the idle timeout:\n%s", e.Logs.String())
	}
}

// TestShutdown: an idle session is closed at once and Serve returns nil; a
// session with an open upload is waited for until the deadline.
func TestShutdown(t *testing.T) {
	e := newEnv(t)
	args := append(e.keyOpts(), e.sshOpts("-p", strconv.Itoa(e.port), "-s", "bob@127.0.0.1", "sftp")...)
	cmd := exec.Command("ssh", args...)
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the login", func() bool { return strings.Contains(e.Logs.String(), "event=login.ok") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown with an idle session took %v", d)
	}
	if err := e.serving.Wait()[0]; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	cmd.Wait()
	if _, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(e.port))); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}
