package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ferry-project/ferry/client"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
)

// ferryBin is the ferry binary under test, built once by TestMain.
var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ferryBin = filepath.Join(dir, "ferry")
	// The binary under test is built as users get it: the race detector
	// makes every end-to-end run four times slower, and the packages'
	// in-process tests already run under it. FERRY_E2E_RACE=1 adds it here.
	args := []string{"build", "-o", ferryBin}
	if os.Getenv("FERRY_E2E_RACE") == "1" {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../cmd/ferry")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building ferry:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one `ferry serve` process under test.
type server struct {
	t          *testing.T
	Dir        string // the test's scratch directory
	ConfigPath string
	Cfg        *config.Config
	cmd        *exec.Cmd
	done       chan error
	logs       *testutil.Buffer
	// wrap runs `ferry serve` under another command (prlimit ...), which
	// must exec it in place so that PID is ferry's.
	wrap []string
}

// newServer prepares (but does not start) a server with every protocol on
// free loopback ports, short timeouts and its own data directory; mutate
// changes the configuration before it is written to a TOML file.
func newServer(t *testing.T, mutate func(c *config.Config)) *server {
	t.Helper()
	dir := t.TempDir()
	c := config.Default()
	c.DataDir = filepath.Join(dir, "data")
	// Tests choose short passwords; TestUserPolicy checks the default.
	c.Users.MinPasswordLength = 1
	c.ListenAddress = "127.0.0.1"
	used := map[int]bool{}
	port := func() int {
		for {
			if p := testutil.FreePort(t); !used[p] {
				used[p] = true
				return p
			}
		}
	}
	c.FTP.Port, c.FTP.ImplicitPort, c.SFTP.Port, c.HTTP.Port, c.HTTP.HTTPSPort = port(), port(), port(), port(), port()
	c.FTP.PassivePorts = testutil.FreeRange(t, 40).String()
	c.FTP.ActiveSourcePort = 0
	c.Limits.ShutdownTimeout = config.Duration{Duration: 5 * time.Second}
	// Tests try many escapes from 127.0.0.1 on purpose; scored, they would
	// ban the address between one test step and the next. TestBanPersists
	// and TestAuditLog set the weight they test. The same for the hostile
	// commands, data connections and unknown names (TestOffencesBan).
	c.Lockout.EscapeWeight, c.Lockout.CommandWeight, c.Lockout.DataWeight, c.Lockout.UnknownUserWeight = 0, 0, 0, 0
	if mutate != nil {
		mutate(c)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(c); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := config.Load(path)
	if err != nil {
		t.Fatalf("test config does not load: %v\n%s", err, buf.String())
	}
	s := &server{t: t, Dir: dir, ConfigPath: path, Cfg: parsed}
	t.Cleanup(s.kill)
	return s
}

// ferry runs a ferry subcommand against this server's configuration and
// returns its combined output.
func (s *server) ferry(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBin, append(args, "--config", s.ConfigPath)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// addUser adds a user with a password and returns its home directory.
func (s *server) addUser(name, password string, extra ...string) string {
	s.t.Helper()
	out, err := s.ferry(password+"\n", append([]string{"user", "add", name, "--password-stdin"}, extra...)...)
	if err != nil {
		s.t.Fatalf("ferry user add %s: %v\n%s", name, err, out)
	}
	home := filepath.Join(s.Cfg.DataDir, "homes", name)
	for i, a := range extra {
		if a == "--home" && i+1 < len(extra) {
			home = extra[i+1]
		}
	}
	abs, _ := filepath.Abs(home)
	return abs
}

// start runs `ferry serve` and waits until every control port of the plan
// accepts connections and the server says it serves: a bound port accepts
// TCP connections before its protocol's accept loop runs (the SFTP host
// keys are loaded first, or generated), and a test that floods it then
// measures a backlog, not the server.
func (s *server) start() {
	s.t.Helper()
	s.logs = &testutil.Buffer{}
	argv := append(append([]string{}, s.wrap...), ferryBin, "serve", "--config", s.ConfigPath)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
	plan := listen.New(s.Cfg)
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range plan.Entries {
		if e.Kind != listen.Control {
			continue
		}
		addr := net.JoinHostPort(s.host(), strconv.Itoa(e.Ports.Low))
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-s.done:
				s.cmd = nil // kill must not wait for it again
				s.t.Fatalf("ferry serve exited before listening on %s (%v):\n%s", addr, err, s.logs)
			default:
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("ferry serve does not listen on %s:\n%s", addr, s.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for !strings.Contains(s.logs.String(), "ferry serving") {
		select {
		case err := <-s.done:
			s.cmd = nil // kill must not wait for it again
			s.t.Fatalf("ferry serve exited before serving (%v):\n%s", err, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("ferry serve does not log \"ferry serving\":\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// host is the address the server listens on, for clients to dial.
func (s *server) host() string {
	if s.Cfg.ListenAddress == "" || s.Cfg.ListenAddress == "0.0.0.0" {
		return "127.0.0.1"
	}
	if s.Cfg.ListenAddress == "::" {
		return "::1"
	}
	return s.Cfg.ListenAddress
}

// addr is host:port for one of the server's ports.
func (s *server) addr(port int) string {
	return net.JoinHostPort(s.host(), strconv.Itoa(port))
}

// stop sends SIGTERM and waits for a clean exit; it returns the exit error.
func (s *server) stop() error {
	s.t.Helper()
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.cmd = nil
		return err
	case <-time.After(30 * time.Second):
		s.kill()
		s.t.Fatalf("ferry serve did not stop on SIGTERM:\n%s", s.logs)
		return nil
	}
}

func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
	if s.t.Failed() && s.logs != nil {
		s.t.Logf("ferry serve log:\n%s", s.logs)
	}
}

// PID is the process id of the running `ferry serve`.
func (s *server) PID() int {
	s.t.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		s.t.Fatal("ferry serve is not running")
	}
	return s.cmd.Process.Pid
}

// Logs returns what the server has logged so far.
func (s *server) Logs() string { return s.logs.String() }

// waitLog waits until the server's log contains substr.
func (s *server) waitLog(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(s.Logs(), substr) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// run runs an external client with a deadline and returns its combined
// output.
func run(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// openFiles is the number of the server's open file descriptors, counted
// in /proc/PID/fd: sockets, listeners, files, epoll.
func (s *server) openFiles() int {
	s.t.Helper()
	n, err := countOpenFiles(s.PID())
	if err != nil {
		s.t.Fatalf("counting the server's open files: %v", err)
	}
	return n
}

// countOpenFiles counts /proc/PID/fd; safe from any goroutine.
func countOpenFiles(pid int) (int, error) {
	d, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}

// memory returns the server's resident set size now (VmRSS) and its peak
// since start (VmHWM), in bytes, from /proc/PID/status.
func (s *server) memory() (rss, peak int64) {
	s.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		s.t.Fatalf("reading the server's memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	if rss == 0 || peak == 0 {
		s.t.Fatalf("no VmRSS/VmHWM in /proc/%d/status", s.PID())
	}
	return rss, peak
}

// signal sends sig to the server.
func (s *server) signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signalling the server: %v", err)
	}
}

// waitExit waits up to timeout for the server to end and returns its exit
// status (-1 when a signal ended it). exited is false when it is still
// running after timeout; it is then left running (kill ends it).
func (s *server) waitExit(timeout time.Duration) (code int, exited bool) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("the server is not running")
	}
	select {
	case <-s.done:
		code = s.cmd.ProcessState.ExitCode()
		s.cmd = nil
		return code, true
	case <-time.After(timeout):
		return 0, false
	}
}

// raiseOpenFiles lifts the soft RLIMIT_NOFILE of the test process (and so
// of the servers it starts afterwards) to at least n, up to the hard limit;
// it fails when the hard limit is lower.
func raiseOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d this test needs", lim.Max, n)
	}
	old := lim.Cur
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising RLIMIT_NOFILE to %d: %v", n, err)
	}
	t.Cleanup(func() {
		lim.Cur = old
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

// port is the server's port for a client URL scheme.
func (s *server) port(scheme string) int {
	switch scheme {
	case "ftp", "ftpes":
		return s.Cfg.FTP.Port
	case "ftps":
		return s.Cfg.FTP.ImplicitPort
	case "sftp":
		return s.Cfg.SFTP.Port
	case "https":
		return s.Cfg.HTTP.HTTPSPort
	case "http":
		return s.Cfg.HTTP.Port
	}
	s.t.Fatalf("no port for scheme %q", scheme)
	return 0
}

// dial opens a client.Conn to the server over scheme (ftpes, ftps, sftp,
// https) as user, trusting the server's certificate and host key; timeout
// bounds connecting and each wait for the server.
func (s *server) dial(scheme, user, password string, timeout time.Duration) (client.Conn, error) {
	return client.Dial(client.Target{Scheme: scheme, Host: s.host(), Port: s.port(scheme), User: user, Password: password, HasPass: true},
		client.Options{Insecure: true, Timeout: timeout})
}

// logTail makes a failed test print only the last n lines of the server's
// log (a flood logs thousands). Call it after start.
func (s *server) logTail(n int) {
	s.t.Cleanup(func() { // runs before kill, which prints the log
		if !s.t.Failed() || s.logs == nil {
			return
		}
		lines := strings.SplitAfter(s.logs.String(), "\n")
		if len(lines) <= n {
			return
		}
		tail := &testutil.Buffer{}
		fmt.Fprintf(tail, "[%d lines left out]\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], ""))
		s.logs = tail
	})
}
