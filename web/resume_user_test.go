package web

import (
	"os"
	"os/exec"
	"path/filepath"
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
