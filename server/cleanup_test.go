package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
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
	if err := cleanUploads(ctx, st, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
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
