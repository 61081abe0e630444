package sftp

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/s3test"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
)

// keyDir holds host keys generated once for the package's tests: RSA 3072
// generation takes a second or more, too slow for every server.
var (
	keyOnce sync.Once
	keyDir  string
	keyErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	if keyDir != "" {
		os.RemoveAll(keyDir)
	}
	os.Exit(code)
}

func sharedHostKeys(t *testing.T, dataDir string) {
	t.Helper()
	keyOnce.Do(func() {
		keyDir, keyErr = os.MkdirTemp("", "ferry-sftp-keys-")
		if keyErr == nil {
			_, keyErr = loadHostKeys(keyDir)
		}
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		for _, suffix := range []string{"", ".pub"} {
			b, err := os.ReadFile(filepath.Join(keyDir, n+suffix))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dataDir, n+suffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// env is one running server on the shared test floor, and the files of
// the OpenSSH clients.
type env struct {
	*testserver.Server
	t       *testing.T
	srv     *Server
	serving *testserver.Serving
	port    int
	key     string // client private key file (bob's)
	known   string // known_hosts file the clients use
}

func newEnv(t *testing.T, opts ...func(*config.Config)) *env {
	t.Helper()
	testutil.Need(t, "sftp")
	s := testserver.New(t, append([]func(*config.Config){func(c *config.Config) {
		c.FTP.Enabled, c.HTTP.Enabled = false, false
		c.Limits.MaxConnectionsPerIP = 50
	}}, opts...)...)
	sharedHostKeys(t, s.Config.DataDir)
	e := &env{Server: s, t: t, port: s.Config.SFTP.Port, key: s.KeyFile, known: filepath.Join(s.Dir, "known_hosts")}
	e.start()
	return e
}

// start (re)starts the server on the env's configuration and port.
func (e *env) start() {
	e.t.Helper()
	srv, err := New(Options{Config: e.Config, Core: e.Core, Log: e.Log})
	if err != nil {
		e.t.Fatal(err)
	}
	ln := e.Listener(listen.SFTP)
	e.srv = srv
	e.serving = e.Serve(srv, nil, func() error { return srv.Serve(ln) })
}

// sshOpts are the options every OpenSSH client invocation gets.
func (e *env) sshOpts(extra ...string) []string {
	o := []string{
		"-o", "UserKnownHostsFile=" + e.known,
		"-o", "StrictHostKeyChecking=accept-new",
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10",
		"-F", "/dev/null",
	}
	return append(o, extra...)
}

// keyOpts authenticate as bob with his key only.
func (e *env) keyOpts() []string {
	return []string{"-o", "IdentityFile=" + e.key, "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no"}
}

// passOpts authenticate with a password only (given by sshpass).
func passOpts() []string {
	return []string{"-o", "BatchMode=no", "-o", "PubkeyAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-o", "NumberOfPasswordPrompts=1"}
}

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, dir string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// batch runs "sftp -b" as user with the given commands, from dir. pass ""
// means key authentication (bob).
func (e *env) batch(dir, user, pass string, cmds ...string) (string, error) {
	e.t.Helper()
	bf := filepath.Join(e.t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(strings.Join(cmds, "\n")+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	var args []string
	name := "sftp"
	if pass != "" {
		name = "sshpass"
		args = append([]string{"-p", pass, "sftp"}, passOpts()...)
	} else {
		args = e.keyOpts()
	}
	args = append(args, e.sshOpts("-P", strconv.Itoa(e.port), "-b", bf)...)
	args = append(args, user+"@127.0.0.1")
	return run(e.t, dir, name, args...)
}

// mustBatch is batch that fails the test on an error.
func (e *env) mustBatch(dir, user, pass string, cmds ...string) string {
	e.t.Helper()
	out, err := e.batch(dir, user, pass, cmds...)
	if err != nil {
		e.t.Fatalf("sftp %q: %v\n%s\nserver log:\n%s", cmds, err, out, e.Logs.String())
	}
	return out
}

func randomFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func sameFile(t *testing.T, want []byte, path string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes differ from the %d expected", path, len(got), len(want))
	}
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
