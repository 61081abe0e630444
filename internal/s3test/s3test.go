package s3test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs/s3fs"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The gateway's credentials (a test's, not a secret).
const (
	AccessKey = "ferrytest"
	SecretKey = "ferrytest-secret-key"
)

// Gateway is a running versitygw.
type Gateway struct {
	Endpoint string // host:port
	Client   *minio.Client
}

var (
	once    sync.Once
	shared  *Gateway
	failure string
	buckets atomic.Int64
)

// Start returns the gateway of this test binary, started by the first
// call; it runs until the binary exits (Main stops it). Without versitygw
// the test is skipped, or fails under CI=true (testutil.Need).
func Start(t testing.TB) *Gateway {
	t.Helper()
	testutil.Need(t, "versitygw")
	once.Do(func() { shared, failure = start() })
	if shared == nil {
		t.Fatal(failure)
	}
	return shared
}

var proc *exec.Cmd
var dir string

func start() (*Gateway, string) {
	var err error
	dir, err = os.MkdirTemp("", "ferry-s3test-")
	if err != nil {
		return nil, err.Error()
	}
	for try := 0; try < 5; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err.Error()
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command("versitygw", "--access", AccessKey, "--secret", SecretKey, "--port", addr, "--quiet", "posix", dir)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			return nil, err.Error()
		}
		c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""), BucketLookup: minio.BucketLookupPath})
		if err != nil {
			cmd.Process.Kill()
			return nil, err.Error()
		}
		for wait := 0; wait < 100; wait++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = c.ListBuckets(ctx)
			cancel()
			if err == nil {
				proc = cmd
				return &Gateway{Endpoint: addr, Client: c}, ""
			}
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if try == 4 {
			return nil, fmt.Sprintf("versitygw did not answer on %s: %v\n%s", addr, err, out.String())
		}
	}
	return nil, "unreachable"
}

// Stop ends the gateway, if one started, and removes its folder: call it
// from TestMain after m.Run.
func Stop() {
	if proc != nil {
		proc.Process.Kill()
		proc.Wait()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Bucket makes a new empty bucket for t and returns its name; it is not
// removed (the gateway's folder goes with Stop).
func (g *Gateway) Bucket(t testing.TB) string {
	t.Helper()
	name := "ferry-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(buckets.Add(1), 10)
	if err := g.Client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return name
}

// URL is the storage URL of prefix in bucket on the gateway.
func (g *Gateway) URL(bucket, prefix string) string {
	return "s3://" + bucket + "/" + prefix + "?endpoint=" + g.Endpoint + "&secure=false"
}

// Options are the gateway's credentials with the given part size (0: the
// default).
func Options(partSize int64) s3fs.Options {
	return s3fs.Options{AccessKey: AccessKey, SecretKey: SecretKey, PartSize: partSize}
}

// Incomplete lists the unfinished multipart uploads in bucket, as the
// store reports them (ListMultipartUploads).
func (g *Gateway) Incomplete(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	for u := range g.Client.ListIncompleteUploads(context.Background(), bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list multipart uploads: %v", u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

// Keys lists every object in bucket.
func (g *Gateway) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range g.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list objects: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}
