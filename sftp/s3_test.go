package sftp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/s3test"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

// s3Env is a server whose homes are on versitygw, under bucket/homes/NAME.
func s3Env(t *testing.T, g *s3test.Gateway, bucket string, more ...func(*config.Config)) *env {
	return newEnv(t, append([]func(*config.Config){func(c *config.Config) {
		c.Storage = g.URL(bucket, "homes")
		c.S3.AccessKey, c.S3.SecretKey = s3test.AccessKey, s3test.SecretKey
	}}, more...)...)
}

// s3Bound is what one upload may hold with the default part size: two
// parts and the reorder window (the figure the README states), plus 16
// MiB for the SSH and SFTP buffers of the session, the test's own, and
// the part buffers' growth while the first part fills.
const s3Bound = 2*16<<20 + s3fs.Window + 16<<20

// bigSize is the size of the large upload: 256 MiB, or 2 GiB with
// FERRY_S3_LONG=1 (the figure; minutes on a shared machine).
func bigSize() int64 {
	if os.Getenv("FERRY_S3_LONG") == "1" {
		return 2 << 30
	}
	return 256 << 20
}

// TestS3LargeUpload: OpenSSH sftp puts a large file into object storage
// byte for byte; the live heap grows less than s3Bound, nothing of it
// lands on the local disk (data_dir and the user's local home), no
// multipart upload is left open, and it downloads back whole.
func TestS3LargeUpload(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	e := s3Env(t, g, bucket)
	local := t.TempDir()
	_, sum := s3test.BigFile(t, local, "big.bin", bigSize())
	disk := s3test.DirBytes(t, e.Dir+"/data") + s3test.DirBytes(t, e.Home("bob"))

	heap := s3test.WatchHeap()
	e.longBatch(local, "put big.bin")
	growth := heap.Stop()
	t.Logf("sftp upload of %d MiB into S3: live heap grew by %.1f MiB (bound %d MiB)", bigSize()>>20, float64(growth)/(1<<20), s3Bound>>20)
	if growth > s3Bound {
		t.Errorf("live heap grew by %d bytes during the upload, over the bound of %d", growth, s3Bound)
	}
	if grew := s3test.DirBytes(t, e.Dir+"/data") + s3test.DirBytes(t, e.Home("bob")) - disk; grew > 1<<20 {
		t.Errorf("the upload wrote %d bytes to the local disk", grew)
	}
	if got, n := g.Sum(t, bucket, "homes/bob/big.bin"); got != sum || n != bigSize() {
		t.Errorf("object: %d bytes, sha256 %s; want %d, %s", n, got, bigSize(), sum)
	}
	if left := g.Incomplete(t, bucket); len(left) > 0 {
		t.Errorf("multipart uploads left open: %q", left)
	}
	e.longBatch(local, "get big.bin back.bin")
	if got, _ := s3test.FileSum(t, filepath.Join(local, "back.bin")); got != sum {
		t.Errorf("download: sha256 %s, want %s", got, sum)
	}
}

// TestS3InterruptedUpload: OpenSSH sftp killed once the store holds a
// part. By default the multipart upload is aborted: no object, no part
// left. With uploads.interrupted = "keep" it is completed with what
// arrived, and reput (a resume from that size: the bytes kept are copied
// on the server) finishes the file byte for byte.
func TestS3InterruptedUpload(t *testing.T) {
	g := s3test.Start(t)
	local := t.TempDir()
	_, sum := s3test.BigFile(t, local, "big.bin", 96<<20)
	for _, keep := range []bool{false, true} {
		bucket := g.Bucket(t)
		e := s3Env(t, g, bucket, func(c *config.Config) {
			if keep {
				c.Uploads.Interrupted = config.InterruptedKeep
			}
		})
		bf := filepath.Join(t.TempDir(), "batch")
		os.WriteFile(bf, []byte("put big.bin\n"), 0o600)
		args := append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "-b", bf)...)
		cmd := exec.Command("sftp", append(args, "bob@127.0.0.1")...)
		cmd.Dir = local
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		waitLong(t, "a multipart upload in the store", func() bool { return len(g.Incomplete(t, bucket)) > 0 })
		cmd.Process.Kill()
		cmd.Wait()
		waitLong(t, "the session's end", func() bool { return len(g.Incomplete(t, bucket)) == 0 })
		if !keep {
			if keys := g.Keys(t, bucket); len(keys) > 0 {
				t.Errorf("discard: objects after an interrupted upload: %q", keys)
			}
			continue
		}
		// The store lists the upload as done a moment before the object shows.
		waitLong(t, "the kept upload", func() bool { return len(g.Keys(t, bucket)) > 0 })
		if _, n := g.Sum(t, bucket, "homes/bob/big.bin"); n == 0 || n >= 96<<20 {
			t.Fatalf("keep: the interrupted upload holds %d bytes", n)
		}
		e.mustBatch(local, "bob", "", "reput big.bin")
		if got, n := g.Sum(t, bucket, "homes/bob/big.bin"); got != sum {
			t.Errorf("after reput: %d bytes, sha256 %s, want %s", n, got, sum)
		}
		if left := g.Incomplete(t, bucket); len(left) > 0 {
			t.Errorf("multipart uploads left open: %q", left)
		}
	}
}

// waitLong is waitFor with room for a loaded machine (the race detector,
// parallel packages): an upload may take a while to fill its first part.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// longBatch runs one sftp command as bob with room for a large file on a
// loaded machine (batch allows a minute).
func (e *env) longBatch(dir, command string) {
	e.t.Helper()
	bf := filepath.Join(e.t.TempDir(), "batch")
	if err := os.WriteFile(bf, []byte(command+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := append(e.keyOpts(), e.sshOpts("-P", strconv.Itoa(e.port), "-b", bf)...)
	cmd := exec.CommandContext(ctx, "sftp", append(args, "bob@127.0.0.1")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("sftp %q: %v\n%s", command, err, out)
	}
}
