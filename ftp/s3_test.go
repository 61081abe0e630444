package ftp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/s3test"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// s3Env is a server whose homes are on versitygw, under bucket/homes/NAME.
func s3Env(t *testing.T, g *s3test.Gateway, bucket string, keep bool) *env {
	return newEnv(t, func(c *config.Config) {
		c.Storage = g.URL(bucket, "homes")
		c.S3.AccessKey, c.S3.SecretKey = s3test.AccessKey, s3test.SecretKey
		if keep {
			c.Uploads.Interrupted = config.InterruptedKeep
		}
	})
}

// curl runs curl over explicit FTPS (AUTH TLS, passive) as alice.
func (e *env) curl(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "600", "--ssl-reqd", "-k", "-u", "alice:" + testserver.Password}, args...)...)
	cmd.Dir = dir
	return cmd
}

// s3Bound: two parts of the default size and the reorder window (the
// README's figure), plus 16 MiB for the session's TLS buffers, the test's
// own, and the part buffers' growth while the first part fills.
const s3Bound = 2*16<<20 + s3fs.Window + 16<<20

// TestS3LargeUploadFTPS: curl stores 256 MiB (2 GiB with FERRY_S3_LONG=1)
// over explicit FTPS into object storage: byte for byte, the live heap
// grows less than s3Bound, nothing lands on the local disk, no multipart
// upload is left open; a REST download (curl -C) reads from the offset.
func TestS3LargeUploadFTPS(t *testing.T) {
	testutil.Need(t, "curl")
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	e := s3Env(t, g, bucket, false)
	size := int64(256 << 20)
	if os.Getenv("FERRY_S3_LONG") == "1" {
		size = 2 << 30
	}
	local := t.TempDir()
	_, sum := s3test.BigFile(t, local, "big.bin", size)
	disk := s3test.DirBytes(t, e.Config.DataDir) + s3test.DirBytes(t, e.home)

	heap := s3test.WatchHeap()
	if out, err := e.curl(local, "-T", "big.bin", "ftp://"+e.addr+"/big.bin").CombinedOutput(); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	growth := heap.Stop()
	t.Logf("FTPS upload of %d MiB into S3: live heap grew by %.1f MiB (bound %d MiB)", size>>20, float64(growth)/(1<<20), s3Bound>>20)
	if growth > s3Bound {
		t.Errorf("live heap grew by %d bytes during the upload, over the bound of %d", growth, s3Bound)
	}
	if grew := s3test.DirBytes(t, e.Config.DataDir) + s3test.DirBytes(t, e.home) - disk; grew > 1<<20 {
		t.Errorf("the upload wrote %d bytes to the local disk", grew)
	}
	if got, n := g.Sum(t, bucket, "homes/alice/big.bin"); got != sum || n != size {
		t.Errorf("object: %d bytes, sha256 %s; want %d, %s", n, got, size, sum)
	}
	if left := g.Incomplete(t, bucket); len(left) > 0 {
		t.Errorf("multipart uploads left open: %q", left)
	}
	// A download resumed at 100 MiB: REST, then a ranged GET.
	part := filepath.Join(local, "part.bin")
	if err := os.Truncate(filepath.Join(local, "big.bin"), 100<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(local, "big.bin"), part); err != nil {
		t.Fatal(err)
	}
	if out, err := e.curl(local, "-C", "-", "-o", "part.bin", "ftp://"+e.addr+"/big.bin").CombinedOutput(); err != nil {
		t.Fatalf("curl resumed download: %v\n%s", err, out)
	}
	if got, _ := s3test.FileSum(t, part); got != sum {
		t.Errorf("resumed download: sha256 %s, want %s", got, sum)
	}
}

// TestS3InterruptedUploadFTPS: curl killed once the store holds a part.
// By default the multipart upload is aborted, nothing is published and no
// part is left; with uploads.interrupted = "keep" what arrived is
// published and curl -C - (SIZE, then APPE: the bytes kept are copied on
// the server) finishes the file byte for byte.
func TestS3InterruptedUploadFTPS(t *testing.T) {
	testutil.Need(t, "curl")
	g := s3test.Start(t)
	local := t.TempDir()
	_, sum := s3test.BigFile(t, local, "big.bin", 96<<20)
	for _, keep := range []bool{false, true} {
		bucket := g.Bucket(t)
		e := s3Env(t, g, bucket, keep)
		cmd := e.curl(local, "--limit-rate", "20M", "-T", "big.bin", "ftp://"+e.addr+"/big.bin")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		wait(t, "a multipart upload in the store", func() bool { return len(g.Incomplete(t, bucket)) > 0 })
		cmd.Process.Kill()
		cmd.Wait()
		wait(t, "the upload's end", func() bool { return len(g.Incomplete(t, bucket)) == 0 })
		if !keep {
			time.Sleep(200 * time.Millisecond)
			if keys := g.Keys(t, bucket); len(keys) > 0 {
				t.Errorf("discard: objects after an interrupted upload: %q", keys)
			}
			continue
		}
		wait(t, "the kept upload", func() bool { return len(g.Keys(t, bucket)) > 0 })
		if _, n := g.Sum(t, bucket, "homes/alice/big.bin"); n == 0 || n >= 96<<20 {
			t.Fatalf("keep: the interrupted upload holds %d bytes", n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--ssl-reqd", "-k", "-u", "alice:"+testserver.Password,
			"-C", "-", "-T", filepath.Join(local, "big.bin"), "ftp://"+e.addr+"/big.bin").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("curl -C -: %v\n%s", err, out)
		}
		if got, n := g.Sum(t, bucket, "homes/alice/big.bin"); got != sum {
			t.Errorf("after the resume: %d bytes, sha256 %s, want %s", n, got, sum)
		}
		if left := g.Incomplete(t, bucket); len(left) > 0 {
			t.Errorf("multipart uploads left open: %q", left)
		}
	}
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second) // room for a loaded machine
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
