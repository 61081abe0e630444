package sftp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// killMidUpload starts OpenSSH sftp putting local (in dir) and kills it
// once the server holds more than 16 MiB of the upload.
func (e *env) killMidUpload(dir, name string) {
	t := e.t
	t.Helper()
	bf := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte("put "+name+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "-b", bf)...)
	cmd := exec.Command("sftp", append(args, "bob@127.0.0.1")...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "16 MiB of the upload on the server", func() bool {
		for _, f := range testutil.Uploading(e.Home("bob")) {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 16<<20 {
				return true
			}
		}
		return false
	})
	cmd.Process.Kill()
	cmd.Wait()
}

// TestInterruptedUploadKept: with uploads.interrupted = "keep", what
// arrived before OpenSSH sftp was killed is published, and reput finishes
// the file byte for byte; with the default nothing is published.
func TestInterruptedUploadKept(t *testing.T) {
	local := t.TempDir()
	body := randomFile(t, filepath.Join(local, "big.bin"), 256<<20)

	e := newEnv(t)
	e.killMidUpload(local, "big.bin")
	time.Sleep(time.Second) // the server notices the dropped connection
	if _, err := os.Stat(filepath.Join(e.Home("bob"), "big.bin")); err == nil {
		t.Error("discard: the interrupted upload was published")
	}

	e = newEnv(t, func(c *config.Config) { c.Uploads.Interrupted = config.InterruptedKeep })
	e.killMidUpload(local, "big.bin")
	dst := filepath.Join(e.Home("bob"), "big.bin")
	waitFor(t, "the interrupted upload published", func() bool {
		fi, err := os.Stat(dst)
		return err == nil && fi.Size() > 0
	})
	if fi, _ := os.Stat(dst); fi.Size() >= int64(len(body)) {
		t.Fatalf("the upload was not interrupted: %d bytes", fi.Size())
	}
	e.mustBatch(local, "bob", "", "reput big.bin")
	sameFile(t, body, dst)
	testutil.Home(t, e.Home("bob"))
}
