package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ferryIn runs the ferry binary in folder dir with extra environment.
func ferryIn(t *testing.T, dir string, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestInitAndConfigResolution: `ferry init` writes a configuration that
// parses; with FERRY_CONFIG naming it, `ferry user add` run from another
// folder writes the database beside the file (data_dir is relative to the
// file, not to the working directory) and says which one it wrote.
func TestInitAndConfigResolution(t *testing.T) {
	etc, elsewhere := t.TempDir(), t.TempDir()
	out, err := ferryIn(t, elsewhere, nil, "", "init", "--dir", etc)
	if err != nil || !strings.Contains(out, "ferry serve --config "+filepath.Join(etc, "ferry.toml")) {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if out, err := ferryIn(t, elsewhere, nil, "", "init", "--dir", etc); err == nil || !strings.Contains(out, "never overwrites") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	cfgFile := filepath.Join(etc, "ferry.toml")
	env := []string{"FERRY_CONFIG=" + cfgFile}
	out, err = ferryIn(t, elsewhere, env, "a-long-enough-passphrase\n", "user", "add", "alice", "--password-stdin")
	db := filepath.Join(etc, "ferry-data", "users.db")
	if err != nil || !strings.Contains(out, db) {
		t.Fatalf("user add with FERRY_CONFIG: %v\n%s", err, out)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users.db: %v %v, want 0600", fi, err)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "ferry-data")); err == nil {
		t.Fatal("a database was created in the working directory")
	}
	out, err = ferryIn(t, t.TempDir(), env, "", "user", "list")
	if err != nil || !strings.Contains(out, "alice") {
		t.Fatalf("user list from a third folder: %v\n%s", err, out)
	}
	// --config wins over FERRY_CONFIG.
	other := filepath.Join(t.TempDir(), "other.toml")
	os.WriteFile(other, []byte("data_dir = \"state\"\n"), 0o644)
	out, err = ferryIn(t, elsewhere, env, "", "user", "list", "--config", other)
	if err != nil || strings.Contains(out, "alice") {
		t.Fatalf("--config did not win over FERRY_CONFIG: %v\n%s", err, out)
	}
}

// TestUserPolicy: with the default policy, short, common and name-like
// passwords are refused, and so is a home that gives away the machine;
// nothing is written.
func TestUserPolicy(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "ferry.toml")
	os.WriteFile(cfgFile, []byte("data_dir = \"data\"\n"), 0o644)
	for _, tc := range []struct{ user, pw, want string }{
		{"alice", "short", "shorter than 12"},
		{"alice", "password1234", "most common"},
		{"bobbybobbybob", "BOBBYBOBBYBOB", "user name"},
	} {
		out, err := ferryIn(t, dir, nil, tc.pw+"\n", "user", "add", tc.user, "--password-stdin", "--config", cfgFile)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("user add %s with %q: %v\n%s", tc.user, tc.pw, err, out)
		}
	}
	out, err := ferryIn(t, dir, nil, "a-long-enough-passphrase\n", "user", "add", "eve", "--password-stdin", "--home", "/", "--config", cfgFile)
	if err == nil || !strings.Contains(out, "root of the file system") {
		t.Errorf("--home /: %v\n%s", err, out)
	}
	out, _ = ferryIn(t, dir, nil, "", "user", "list", "--config", cfgFile)
	if strings.Contains(out, "alice") || strings.Contains(out, "eve") {
		t.Errorf("a refused user was added:\n%s", out)
	}
	out, err = ferryIn(t, dir, nil, "a-long-enough-passphrase\n", "user", "add", "eve", "--password-stdin", "--home", dir, "--allow-any-home", "--config", cfgFile)
	if err != nil {
		t.Errorf("--allow-any-home: %v\n%s", err, out)
	}
}
