package sftp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
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

// env is one running server with its users and a client key.
type env struct {
	t       *testing.T
	srv     *Server
	cfg     *config.Config
	store   *store.SQLite
	auth    *auth.Authenticator
	port    int
	dir     string // test scratch directory
	key     string // client private key file (bob's)
	known   string // known_hosts file the clients use
	log     *testutil.Buffer
	serveCh chan error
}

// Users every test server has.
const (
	alicePass = "alice-pw-ü"
	carolPass = "carol-pw"
)

func (e *env) home(user string) string { return filepath.Join(e.dir, "homes", user) }

type envOption func(*config.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	if _, err := exec.LookPath("sftp"); err != nil {
		t.Skip("OpenSSH client not installed")
	}
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.FTP.Enabled = false
	cfg.HTTP.Enabled = false
	cfg.SFTP.Port = 40000 + int(time.Now().UnixNano()%20000)
	cfg.Limits.MaxConnectionsPerIP = 50
	cfg.Lockout.MaxFailures = 5
	for _, o := range opts {
		o(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sharedHostKeys(t, cfg.DataDir)
	st, err := store.OpenSQLite(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, cfg: cfg, store: st, dir: dir, log: &testutil.Buffer{}}
	e.key = filepath.Join(dir, "id_ed25519")
	pub := writeClientKey(t, e.key)
	e.known = filepath.Join(dir, "known_hosts")
	ctx := context.Background()
	alice, _ := auth.HashPassword(alicePass)
	carol, _ := auth.HashPassword(carolPass)
	for _, u := range []store.User{
		{Name: "alice", PasswordHash: alice, Home: e.home("alice")},
		{Name: "bob", Home: e.home("bob"), Keys: []string{pub}},
		{Name: "carol", PasswordHash: carol, Home: e.home("carol"), ReadOnly: true},
	} {
		if err := os.MkdirAll(u.Home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := st.Add(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	e.auth = auth.New(st, auth.NewLockout(cfg.Lockout.MaxFailures, cfg.Lockout.Window.Duration, cfg.Lockout.Duration.Duration), auth.Options{Hashes: cfg.Limits.PasswordHashes, Wait: cfg.Limits.PasswordWait.Duration})
	e.start()
	return e
}

// start (re)starts the server on the env's configuration.
func (e *env) start() {
	t := e.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cr, err := core.New(core.Options{Config: e.cfg, Auth: e.auth, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Config: e.cfg, Core: cr, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(e.cfg.SFTP.Port)))
		if err == nil {
			break
		}
		if i == 20 {
			t.Fatal(err)
		}
		if e.srv == nil { // first start: try another random port
			e.cfg.SFTP.Port = 40000 + int(time.Now().UnixNano()%20000)
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	e.srv, e.port = srv, e.cfg.SFTP.Port
	e.serveCh = make(chan error, 1)
	go func() { e.serveCh <- srv.Serve(ln) }()
	t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.srv == nil || e.serveCh == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	if err := <-e.serveCh; err != nil {
		e.t.Errorf("Serve: %v", err)
	}
	e.serveCh = nil
}

func writeClientKey(t *testing.T, path string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test@ferry")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, _ := ssh.NewSignerFromKey(priv)
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " test@ferry"
	if err := os.WriteFile(path+".pub", []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return pub
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
		e.t.Fatalf("sftp %q: %v\n%s\nserver log:\n%s", cmds, err, out, e.log.String())
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
