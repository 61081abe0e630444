package web

import (
	"bytes"
	"fmt"
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

// TestResumedPutWithCurl: with uploads.interrupted = "keep", curl killed
// mid-upload leaves what it sent under the final name, and a PUT with
// Content-Range finishes the file byte for byte; with the default nothing
// is published. Bad ranges are refused.
func TestResumedPutWithCurl(t *testing.T) {
	testutil.Need(t, "curl")
	local := t.TempDir()
	body := testutil.RandomBytes(64<<20, 9)
	src := filepath.Join(local, "big.bin")
	if err := os.WriteFile(src, body, 0o644); err != nil {
		t.Fatal(err)
	}
	curl := func(ts *testServer, args ...string) *exec.Cmd {
		return exec.Command("curl", append([]string{"-sS", "-k", "-u", "alice:" + testserver.Password}, args...)...)
	}
	killMid := func(ts *testServer, home string) {
		t.Helper()
		cmd := curl(ts, "--limit-rate", "8M", "-T", src, ts.base+"/api/v1/files/big.bin")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !biggerThan(testutil.Uploading(home), 4<<20) {
			if time.Now().After(deadline) {
				t.Fatal("the upload did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}

	ts := startServer(t, nil)
	home := ts.addUser("alice", false)
	killMid(ts, home)
	time.Sleep(time.Second)
	if _, err := os.Stat(filepath.Join(home, "big.bin")); err == nil {
		t.Error("discard: the interrupted upload was published")
	}

	ts = startServer(t, func(c *config.Config) { c.Uploads.Interrupted = config.InterruptedKeep })
	home = ts.addUser("alice", false)
	killMid(ts, home)
	dst := filepath.Join(home, "big.bin")
	var have int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(dst); err == nil && fi.Size() > 0 {
			have = fi.Size()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interrupted upload was not kept")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if have >= int64(len(body)) {
		t.Fatalf("the upload was not interrupted: %d bytes", have)
	}
	c := ts.client()
	resp, b := ts.do(c, "PUT", "/api/v1/files/big.bin", "alice", strings.NewReader("x"), "Content-Range", "bytes 0-5/6")
	expect(t, "a range longer than the body", resp, b, http.StatusBadRequest)
	resp, b = ts.do(c, "PUT", "/api/v1/files/big.bin", "alice", strings.NewReader("x"), "Content-Range", fmt.Sprintf("bytes %d-%d/*", have+1, have+1))
	expect(t, "a range past the end", resp, b, http.StatusRequestedRangeNotSatisfiable)

	rest := filepath.Join(local, "rest.bin")
	if err := os.WriteFile(rest, body[have:], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := curl(ts, "-f", "-T", rest, "-H", fmt.Sprintf("Content-Range: bytes %d-%d/%d", have, len(body)-1, len(body)),
		ts.base+"/api/v1/files/big.bin").CombinedOutput()
	if err != nil {
		t.Fatalf("curl with Content-Range: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("after the resumed PUT: %d bytes, equal %v (%v)", len(got), bytes.Equal(got, body), err)
	}
}

// biggerThan reports whether one of files is larger than n bytes.
func biggerThan(files []string, n int64) bool {
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > n {
			return true
		}
	}
	return false
}
