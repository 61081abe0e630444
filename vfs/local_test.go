package vfs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

func newLocal(t *testing.T, home string, readOnly bool) vfs.FS {
	t.Helper()
	f, err := vfs.NewLocal(home, readOnly)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestLocalConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) (vfs.FS, vfs.FS) {
		home := filepath.Join(t.TempDir(), "home")
		return newLocal(t, home, false), newLocal(t, home, true)
	})
}

func TestJoin(t *testing.T) {
	for _, tc := range []struct{ cwd, name, want string }{
		{"/", "a", "/a"},
		{"/a", "b/c", "/a/b/c"},
		{"/a", "/x", "/x"},
		{"/", "", "/"},
		{"/a", "..", "/"},
		{"/", "..", "/.."},
		{"/a", "../../../etc/passwd", "/../../etc/passwd"},
		{"/", "/../..", "/../.."},
		{"/", "./a/./b/", "/a/b"},
	} {
		if got := vfs.Join(tc.cwd, tc.name); got != tc.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tc.cwd, tc.name, got, tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct{ cwd, name, want string }{
		{"/", "a", "/a"},
		{"/a", "b/c", "/a/b/c"},
		{"/a", "/x", "/x"},
		{"/", "..", "/"},
		{"/a", "../../../etc/passwd", "/etc/passwd"},
		{"/a", "", "/a"},
		{"/", "./a/./b/", "/a/b"},
		{"/", "/../..", "/"},
	} {
		if got := vfs.Clean(tc.cwd, tc.name); got != tc.want {
			t.Errorf("Clean(%q, %q) = %q, want %q", tc.cwd, tc.name, got, tc.want)
		}
	}
}

// TestLocalLinksOnDisk: links the administrator made on the disk that
// lead out are refused as escapes; the loop attack leaves nothing on the
// disk; uploads go to the reserved directory.
func TestLocalLinksOnDisk(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	f := newLocal(t, home, false)
	outside := filepath.Join(dir, "secret")
	os.WriteFile(outside, []byte("x"), 0o600)
	os.Symlink(outside, filepath.Join(home, "abs-link"))
	os.Symlink("../secret", filepath.Join(home, "rel-link"))
	os.Symlink(dir, filepath.Join(home, "dir-link"))
	for _, p := range []string{"/abs-link", "/rel-link", "/dir-link/secret"} {
		_, err := f.Open(p)
		vfstest.Is(t, "Open "+p, err, vfs.ErrEscape)
		_, err = f.Create(p)
		vfstest.Is(t, "Create "+p, err, vfs.ErrEscape)
		vfstest.Is(t, "Symlink through "+p, f.Symlink(p[1:], "/new"), vfs.ErrEscape)
	}
	if err := f.Symlink(".", "/loop"); err != nil {
		t.Fatal(err)
	}
	f.Symlink("loop/loop/loop/loop/loop/loop/../../../../../../etc/passwd", "/pw")
	if _, err := os.Lstat(filepath.Join(home, "pw")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the loop attack made a link on the disk: %v", err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "x" {
		t.Fatal("the file outside the home changed")
	}
	u, err := f.Create("/up")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "pending")
	tmp, _ := filepath.Glob(filepath.Join(home, vfs.TempDir, "*"))
	if len(tmp) != 1 {
		t.Fatalf("upload in progress: %q in %s", tmp, vfs.TempDir)
	}
	u.Abort()
	if tmp, _ := filepath.Glob(filepath.Join(home, vfs.TempDir, "*")); len(tmp) != 0 {
		t.Fatalf("Abort left %q", tmp)
	}
}

// TestCleanTemp: what a killed server left in the reserved directory is
// removed at start-up, and nothing else.
func TestCleanTemp(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	f := newLocal(t, home, false)
	for range 3 {
		u, err := f.Create("/x")
		if err != nil {
			t.Fatal(err)
		}
		u.Write(make([]byte, 1000)) // never committed: the server "dies"
	}
	vfstest.Put(t, f, "/kept", []byte("kept"))
	files, n, err := vfs.CleanTemp(home)
	if err != nil || files != 3 || n != 3000 {
		t.Fatalf("CleanTemp = %d files, %d bytes, %v; want 3, 3000", files, n, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, vfs.TempDir)); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
	if b := vfstest.Get(t, f, "/kept"); string(b) != "kept" {
		t.Fatal("a user's file was touched")
	}
	if files, _, err := vfs.CleanTemp(filepath.Join(t.TempDir(), "missing")); files != 0 || err != nil {
		t.Fatalf("CleanTemp of a missing home: %d %v", files, err)
	}
	linked := filepath.Join(t.TempDir(), "linked")
	os.MkdirAll(linked, 0o755)
	os.Symlink(".", filepath.Join(linked, vfs.TempDir))
	os.WriteFile(filepath.Join(linked, "upload-user-file"), nil, 0o644)
	if _, _, err := vfs.CleanTemp(linked); err == nil {
		t.Fatal("CleanTemp followed a link in place of the reserved directory")
	}
	if _, err := os.Stat(filepath.Join(linked, "upload-user-file")); err != nil {
		t.Fatal("CleanTemp removed a file through a link")
	}
}

// TestLocalDiskFull fills a small tmpfs: the write error is remembered,
// Commit fails with ErrNoSpace and nothing is published.
func TestLocalDiskFull(t *testing.T) {
	mnt := testutil.Tmpfs(t, "1m")
	f := newLocal(t, filepath.Join(mnt, "home"), false)
	u, err := f.Create("/big")
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.Write(make([]byte, 2<<20))
	vfstest.Is(t, "write past the disk", err, vfs.ErrNoSpace)
	vfstest.Is(t, "the error is also ErrIO", err, vfs.ErrIO)
	_, err = u.Write([]byte("x"))
	vfstest.Is(t, "write after the failure", err, vfs.ErrNoSpace)
	vfstest.Is(t, "Commit after a failed write", u.Commit(), vfs.ErrNoSpace)
	if _, err := f.Stat("/big"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed upload was published: %v", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte(mnt)) {
		t.Errorf("error names the server path: %v", err)
	}
}
