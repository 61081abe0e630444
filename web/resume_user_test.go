package web

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestInterruptedPerUser: uploads.interrupted_users gives one user "keep"
// under the global "discard": curl killed mid-upload leaves alice's bytes
// under the final name, and nothing of bob's.
func TestInterruptedPerUser(t *testing.T) {
	testutil.Need(t, "curl")
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, testutil.RandomBytes(64<<20, 9), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *config.Config) {
		c.Uploads.InterruptedUsers = map[string]string{"alice": config.InterruptedKeep}
	})
	for user, kept := range map[string]bool{"alice": true, "bob": false} {
		home := ts.addUser(user, false)
		cmd := exec.Command("curl", "-sS", "-k", "-u", user+":"+testserver.Password, "--limit-rate", "8M", "-T", src, ts.base+"/api/v1/files/big.bin")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !biggerThan(testutil.Uploading(home), 4<<20) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("%s: the upload did not start", user)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		published := false
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && !published; time.Sleep(50 * time.Millisecond) {
			fi, err := os.Stat(filepath.Join(home, "big.bin"))
			published = err == nil && fi.Size() > 0
		}
		if published != kept {
			t.Errorf("%s: the interrupted upload published: %v, want %v", user, published, kept)
		}
	}
}

// TestRenameReplace: op=rename refuses an existing name unless
// replace=true, and never replaces a folder.
func TestRenameReplace(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("alice", false)
	c := ts.client()
	for name, body := range map[string]string{"a.txt": "old", "b.txt": "new"} {
		resp, b := ts.do(c, "PUT", "/api/v1/files/"+name, "alice", strings.NewReader(body))
		expect(t, "PUT "+name, resp, b, http.StatusCreated)
	}
	resp, b := ts.do(c, "POST", "/api/v1/files/d?op=mkdir", "alice", nil)
	expect(t, "mkdir", resp, b, http.StatusCreated)
	resp, b = ts.do(c, "POST", "/api/v1/files/b.txt?op=rename&to=a.txt", "alice", nil)
	expect(t, "rename over a file", resp, b, http.StatusConflict)
	resp, b = ts.do(c, "POST", "/api/v1/files/b.txt?op=rename&replace=true&to=d", "alice", nil)
	expect(t, "rename over a folder, replace=true", resp, b, http.StatusConflict)
	resp, b = ts.do(c, "POST", "/api/v1/files/b.txt?op=rename&replace=true&to=a.txt", "alice", nil)
	expect(t, "rename over a file, replace=true", resp, b, http.StatusNoContent)
	if got, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(got) != "new" {
		t.Errorf("a.txt holds %q after the replacing rename", got)
	}
}
