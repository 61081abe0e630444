package ftp

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestInterruptedUploadKeptWithLftp: with uploads.interrupted = "keep",
// lftp killed mid-upload leaves the bytes it sent under the final name
// and "put -c" finishes the file byte for byte; with the default nothing
// is published.
func TestInterruptedUploadKeptWithLftp(t *testing.T) {
	testutil.Need(t, "lftp")
	local := t.TempDir()
	body := testutil.RandomBytes(64<<20, 5)
	if err := os.WriteFile(filepath.Join(local, "big.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	lftp := func(e *env, script string) *exec.Cmd {
		cmd := exec.Command("lftp", "-u", "alice,"+testserver.Password, "-e",
			"set ssl:verify-certificate no; set net:max-retries 1; "+script+"; bye", "ftp://"+e.addr)
		cmd.Dir = local
		return cmd
	}
	killMid := func(e *env) {
		t.Helper()
		cmd := lftp(e, "set net:limit-rate 8M; put big.bin")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !bigger(testutil.Uploading(e.home), 4<<20) {
			if time.Now().After(deadline) {
				t.Fatal("the upload did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}

	e := newEnv(t, nil)
	killMid(e)
	time.Sleep(time.Second)
	if _, err := os.Stat(filepath.Join(e.home, "big.bin")); err == nil {
		t.Error("discard: the interrupted upload was published")
	}

	e = newEnv(t, func(c *config.Config) { c.Uploads.Interrupted = config.InterruptedKeep })
	killMid(e)
	dst := filepath.Join(e.home, "big.bin")
	if !e.waitLog("interrupted upload kept") {
		t.Fatal("the interrupted upload was not kept")
	}
	if fi, err := os.Stat(dst); err != nil || fi.Size() == 0 || fi.Size() >= int64(len(body)) {
		t.Fatalf("kept upload: %v, %v", fi, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := lftp(e, "put -c big.bin")
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Dir = local
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lftp put -c: %v\n%s", err, out)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("after put -c: %d bytes, equal %v (%v)", len(got), bytes.Equal(got, body), err)
	}
}

// bigger reports whether one of files is larger than n bytes.
func bigger(files []string, n int64) bool {
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > n {
			return true
		}
	}
	return false
}
