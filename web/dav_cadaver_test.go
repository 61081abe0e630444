package web

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
)

// TestDAVCadaver drives cadaver (Debian's command-line WebDAV client)
// through a folder's life: make it, upload, move, copy, delete, lock,
// download. Over plain HTTP: cadaver asks on a terminal about a
// self-signed certificate, and credentials come from its .netrc.
func TestDAVCadaver(t *testing.T) {
	testutil.Need(t, "cadaver")
	ts := startServer(t, func(c *config.Config) { c.HTTP.HTTPSPort = 0 })
	// .netrc splits on spaces: this user's password has none.
	const pass = "cadaver-pw"
	h, err := auth.HashPassword(pass)
	if err != nil {
		t.Fatal(err)
	}
	home := ts.AddUser(store.User{Name: "dave", PasswordHash: h}).Home
	dir := t.TempDir()
	body := testutil.RandomBytes(300000, 4)
	if err := os.WriteFile(filepath.Join(dir, "local.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(ts.base, "http://")
	hostname := host[:strings.LastIndex(host, ":")]
	if err := os.WriteFile(filepath.Join(dir, ".netrc"), []byte("machine "+hostname+" login dave password "+pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"mkcol d", "put local.bin d/a.bin", "move d/a.bin d/b.bin", "copy d/b.bin d/c.bin", "delete d/b.bin",
		"lock d/c.bin", "unlock d/c.bin", "get d/c.bin back.bin", "ls d", "quit",
	}, "\n") + "\n"
	cmd := exec.Command("cadaver", ts.base+"/dav/")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cadaver: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "failed") {
		t.Errorf("cadaver reported a failure:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "back.bin")); !bytes.Equal(got, body) {
		t.Errorf("the file downloaded is not the one uploaded:\n%s", out)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "d", "c.bin")); !bytes.Equal(got, body) {
		t.Error("d/c.bin on the server is not the file uploaded")
	}
	for _, gone := range []string{"a.bin", "b.bin"} {
		if _, err := os.Stat(filepath.Join(home, "d", gone)); err == nil {
			t.Errorf("d/%s still exists", gone)
		}
	}
}
