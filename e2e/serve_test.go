package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
)

// TestServeLifecycle checks the foundation: the server starts on the plan's
// ports, warns when there are no users, and stops cleanly on SIGTERM.
func TestServeLifecycle(t *testing.T) {
	s := newServer(t, nil)
	s.start()
	if !strings.Contains(s.Logs(), "no users yet") {
		t.Errorf("start with no users does not say how to add one:\n%s", s.Logs())
	}
	if !strings.Contains(s.Logs(), "sha256=") {
		t.Errorf("certificate fingerprint not logged:\n%s", s.Logs())
	}
	// Which file, which data, and where each service answers; each
	// listener once, HTTPS as https.
	for _, want := range []string{"config=" + s.ConfigPath, "data_dir=" + s.Cfg.DataDir,
		"url=sftp://127.0.0.1:" + strconv.Itoa(s.Cfg.SFTP.Port) + "/", "url=https://127.0.0.1:" + strconv.Itoa(s.Cfg.HTTP.HTTPSPort) + "/"} {
		if !strings.Contains(s.Logs(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, s.Logs())
		}
	}
	if n := strings.Count(s.Logs(), "service=https"); n != 1 {
		t.Errorf("HTTPS listener logged %d times, want once:\n%s", n, s.Logs())
	}
	if err := s.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, s.Logs())
	}
	if _, err := os.Stat(filepath.Join(s.Cfg.DataDir, "tls-cert.pem")); err != nil {
		t.Fatalf("no generated certificate: %v", err)
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	s := newServer(t, func(c *config.Config) { c.SFTP.Port = busy })
	out, err := run(t, "", ferryBin, "serve", "--config", s.ConfigPath)
	if err == nil {
		t.Fatal("serve started on a port in use")
	}
	if !strings.Contains(out, "port "+strconv.Itoa(busy)+" is already in use") || !strings.Contains(out, "sftp.port") || strings.Contains(out, "goroutine") {
		t.Fatalf("unclear error for a busy port:\n%s", out)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ toml, key string }{
		{"[ftp]\nport = 70000\n", "ftp.port"},
		{"[ftp]\npassive_ports = \"30000-28000\"\n", "ftp.passive_ports"},
		{"[ftp]\npassive_ports = \"20-30\"\n", "ftp.passive_ports"},
		{"[sftp]\nport = 21\n", "sftp.port"},
		{"[ftp]\nbogus = 1\n", "ftp.bogus"},
	} {
		path := filepath.Join(dir, "c.toml")
		os.WriteFile(path, []byte(tc.toml), 0o644)
		out, err := run(t, "", ferryBin, "serve", "--config", path)
		if err == nil || !strings.Contains(out, tc.key) {
			t.Errorf("config %q: err=%v, output does not name %s:\n%s", tc.toml, err, tc.key, out)
		}
	}
}

func TestUserCommands(t *testing.T) {
	s := newServer(t, nil)
	home := s.addUser("alice", "secret1")
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		t.Fatalf("home %s not created: %v", home, err)
	}
	s.addUser("bob", "secret2", "--read-only")
	out, err := s.ferry("", "user", "list")
	if err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "read-only") {
		t.Fatalf("user list: %v\n%s", err, out)
	}
	if out, err := s.ferry("x\n", "user", "add", "alice", "--password-stdin"); err == nil || !strings.Contains(out, "exists") {
		t.Fatalf("duplicate add: %v\n%s", err, out)
	}
	if out, err := s.ferry("new\n", "user", "passwd", "alice", "--password-stdin"); err != nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	if out, err := s.ferry("", "user", "del", "bob"); err != nil {
		t.Fatalf("del: %v\n%s", err, out)
	}
	if out, _ := s.ferry("", "user", "list"); strings.Contains(out, "bob") {
		t.Fatalf("bob still listed:\n%s", out)
	}
	if out, err := s.ferry("", "user", "add", "carol"); err == nil || !strings.Contains(out, "password-stdin") {
		t.Fatalf("add without terminal or password: %v\n%s", err, out)
	}
}
