package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

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
		if got := Clean(tc.cwd, tc.name); got != tc.want {
			t.Errorf("Clean(%q, %q) = %q, want %q", tc.cwd, tc.name, got, tc.want)
		}
	}
}

func newFS(t *testing.T, ro bool) (*FS, string) {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	f, err := New(home, ro)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, home
}

func TestEscapesRefused(t *testing.T) {
	f, home := newFS(t, false)
	outside := filepath.Join(filepath.Dir(home), "secret")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(home, "abs-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret", filepath.Join(home, "rel-link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/abs-link", "/rel-link", "../secret", "/../secret"} {
		if file, err := f.Open(p); err == nil {
			file.Close()
			t.Errorf("Open(%q) succeeded outside the home", p)
		}
	}
	if _, err := f.Create("/rel-link"); err != nil {
		t.Logf("create over escaping link refused: %v", err)
	}
	if err := f.Symlink("../secret", "/new-link"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Symlink escaping the home: %v", err)
	}
	if err := f.Symlink("/etc/passwd", "/new-link"); err == nil {
		t.Error("absolute symlink target allowed")
	}
	if b, _ := os.ReadFile(outside); string(b) != "x" {
		t.Fatal("file outside the home was changed")
	}
}

func TestAtomicUpload(t *testing.T) {
	f, home := newFS(t, false)
	u, err := f.Create("/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u.File, "half")
	if _, err := os.Stat(filepath.Join(home, "a.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("final name exists before Commit")
	}
	if list, _ := f.ReadDir("/"); len(list) != 0 {
		t.Fatalf("upload in progress listed: %v", list[0].Name())
	}
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(home); len(ents) != 0 {
		t.Fatalf("abort left %s", ents[0].Name())
	}
	u, _ = f.Create("/a.txt")
	io.WriteString(u.File, "whole")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(b) != "whole" {
		t.Fatalf("committed %q", b)
	}
	u, _ = f.Create("/a.txt")
	io.WriteString(u.File, "new")
	u.Abort()
	if b, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(b) != "whole" {
		t.Fatalf("aborted replace changed the file: %q", b)
	}
}

func TestResume(t *testing.T) {
	f, home := newFS(t, false)
	os.WriteFile(filepath.Join(home, "r"), []byte("0123456789"), 0o644)
	u, err := f.OpenAt("/r", 4)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u.File, "abc")
	u.Commit()
	if b, _ := os.ReadFile(filepath.Join(home, "r")); string(b) != "0123abc" {
		t.Fatalf("resume at 4: %q", b)
	}
	u, _ = f.OpenAt("/r", -1)
	io.WriteString(u.File, "Z")
	u.Commit()
	if b, _ := os.ReadFile(filepath.Join(home, "r")); string(b) != "0123abcZ" {
		t.Fatalf("append: %q", b)
	}
	if _, err := f.OpenAt("/r", 100); err == nil {
		t.Fatal("offset beyond the end accepted")
	}
}

func TestReadOnly(t *testing.T) {
	f, home := newFS(t, true)
	os.WriteFile(filepath.Join(home, "f"), []byte("x"), 0o644)
	checks := map[string]error{}
	_, checks["create"] = f.Create("/g")
	_, checks["openat"] = f.OpenAt("/f", 0)
	checks["mkdir"] = f.Mkdir("/d")
	checks["remove"] = f.Remove("/f")
	checks["rename"] = f.Rename("/f", "/h")
	for op, err := range checks {
		if !errors.Is(err, ErrReadOnly) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s by read-only user: %v", op, err)
		}
	}
	if file, err := f.Open("/f"); err != nil {
		t.Errorf("read-only user cannot read: %v", err)
	} else {
		file.Close()
	}
}

func TestDirOps(t *testing.T) {
	f, _ := newFS(t, false)
	if err := f.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("/d"); err == nil {
		t.Error("Remove deleted a directory")
	}
	u, _ := f.Create("/d/x")
	u.Commit()
	if err := f.Rmdir("/d/x"); err == nil {
		t.Error("Rmdir deleted a file")
	}
	if err := f.Rmdir("/"); err == nil {
		t.Error("Rmdir removed the home")
	}
	if err := f.Rename("/d/x", "/y"); err != nil {
		t.Fatal(err)
	}
	if err := f.Rmdir("/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat("/y"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create("/"); err == nil {
		t.Error("Create of the home accepted")
	}
}
