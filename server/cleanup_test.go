package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/s3test"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/s3fs"
	"github.com/minio/minio-go/v7"
)

// TestCleanUploads: leftovers of every home are removed once (two users
// may share a home) and counted in the log; a home that cannot be cleaned
// is logged and does not stop the server.
func TestCleanUploads(t *testing.T) {
	dir := t.TempDir()
	st, err := store.OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shared, odd := filepath.Join(dir, "shared"), filepath.Join(dir, "odd")
	os.MkdirAll(filepath.Join(shared, vfs.TempDir), 0o700)
	os.WriteFile(filepath.Join(shared, vfs.TempDir, "upload-A"), make([]byte, 100), 0o644)
	os.WriteFile(filepath.Join(shared, vfs.TempDir, "upload-B"), make([]byte, 20), 0o644)
	os.MkdirAll(odd, 0o700)
	os.WriteFile(filepath.Join(odd, vfs.TempDir), nil, 0o644) // not a directory
	ctx := context.Background()
	for _, u := range []store.User{{Name: "a", Home: shared}, {Name: "b", Home: shared, ReadOnly: true}, {Name: "c", Home: odd}} {
		if err := st.Add(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	var logs testutil.Buffer
	if err := cleanUploads(ctx, config.Default(), st, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if left := testutil.Uploading(shared); len(left) != 0 {
		t.Errorf("left %v", left)
	}
	l := logs.String()
	if strings.Count(l, "removed interrupted uploads") != 1 || !strings.Contains(l, "files=2 bytes=120") {
		t.Errorf("removal not logged once with its count:\n%s", l)
	}
	if !strings.Contains(l, "cannot remove interrupted uploads") || !strings.Contains(l, "user=c") {
		t.Errorf("the home that could not be cleaned is not logged:\n%s", l)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// TestCleanUploadsS3: the multipart uploads a killed server left in object
// storage (global storage and a user's s3:// home) are aborted at start,
// and the objects there are left alone.
func TestCleanUploadsS3(t *testing.T) {
	g := s3test.Start(t)
	bucket := g.Bucket(t)
	cfg := config.Default()
	cfg.Storage = g.URL(bucket, "homes")
	cfg.S3.AccessKey, cfg.S3.SecretKey, cfg.S3.PartSizeMB = s3test.AccessKey, s3test.SecretKey, 5
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	own := g.URL(bucket, "elsewhere")
	for _, u := range []store.User{{Name: "a", Home: t.TempDir()}, {Name: "b", Home: own}} {
		if err := st.Add(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	mc := minio.Core{Client: g.Client}
	for _, prefix := range []string{"homes/a/", "elsewhere/"} {
		// What a killed server leaves: a multipart upload with a part.
		id, err := mc.NewMultipartUpload(ctx, bucket, prefix+"left", minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mc.PutObjectPart(ctx, bucket, prefix+"left", id, 1, strings.NewReader("part"), 4, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
		f, err := s3fs.OpenURL(g.URL(bucket, prefix), s3test.Options(0), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Mkdir("/kept"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(g.Incomplete(t, bucket)); n != 2 {
		t.Fatalf("%d multipart uploads before the clean-up, want 2", n)
	}
	var logs testutil.Buffer
	if err := cleanUploads(ctx, cfg, st, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if left := g.Incomplete(t, bucket); len(left) != 0 {
		t.Errorf("left open: %q", left)
	}
	if keys := g.Keys(t, bucket); len(keys) != 2 {
		t.Errorf("objects after the clean-up: %q, want the two folder markers", keys)
	}
	if l := logs.String(); strings.Count(l, "removed interrupted uploads") != 2 || strings.Contains(l, "endpoint=") {
		t.Errorf("log:\n%s", l)
	}
}
