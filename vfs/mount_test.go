package vfs_test

import (
	"errors"
	"io/fs"
	"slices"
	"testing"

	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

// TestMounts: paths go to the longest mount point, parents list their
// mount points as folders, a read-only mount refuses writes, renames and
// links across mounts are ErrCrossMount, errors name the user's path.
func TestMounts(t *testing.T) {
	home, pub, deep := vfs.NewMemory(false), vfs.NewMemory(false), vfs.NewMemory(false)
	vfstest.Put(t, home, "/own.txt", []byte("home"))
	vfstest.Put(t, pub, "/report.pdf", []byte("published"))
	f, err := vfs.NewMounts(home, []vfs.Mounted{{Path: "/shared", FS: pub.Share(true)}, {Path: "/a/b/deep", FS: deep}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := string(vfstest.Get(t, f, "/shared/report.pdf")); got != "published" {
		t.Fatalf("read through the mount: %q", got)
	}
	if names := vfstest.Names(t, f, "/", 0); !slices.Equal(names, []string{"a", "own.txt", "shared"}) {
		t.Fatalf("root lists %v", names)
	}
	if names := vfstest.Names(t, f, "/a/b", 0); !slices.Equal(names, []string{"deep"}) {
		t.Fatalf("/a/b lists %v", names)
	}
	for _, p := range []string{"/shared", "/a", "/a/b", "/a/b/deep"} {
		if fi, err := f.Stat(p); err != nil || !fi.IsDir() || fi.Name() != p[len(p)-len(fi.Name()):] {
			t.Fatalf("stat %s: %v %v", p, fi, err)
		}
	}
	_, err = f.Create("/shared/new")
	vfstest.Is(t, "write into a read-only mount", err, vfs.ErrReadOnly)
	if vfs.PathOf(err) != "/shared/new" {
		t.Fatalf("the error names %q", vfs.PathOf(err))
	}
	vfstest.Put(t, f, "/a/b/deep/x", []byte("x"))
	if got := string(vfstest.Get(t, deep, "/x")); got != "x" {
		t.Fatalf("write through the deep mount landed as %q", got)
	}
	vfstest.Is(t, "rename across mounts", f.Rename("/own.txt", "/a/b/deep/own.txt"), vfs.ErrCrossMount)
	vfstest.Is(t, "link across mounts", f.Link("/a/b/deep/x", "/x"), vfs.ErrCrossMount)
	vfstest.Is(t, "rename a mount point", f.Rename("/shared", "/elsewhere"), vfs.ErrCrossMount)
	vfstest.Is(t, "remove a mount point", f.Rmdir("/shared"), fs.ErrPermission)
	vfstest.Is(t, "escape through a mount", f.Symlink("../../own.txt", "/a/b/deep/l"), vfs.ErrEscape)
	if err := f.Rename("/a/b/deep/x", "/a/b/deep/y"); err != nil {
		t.Fatalf("rename inside a mount: %v", err)
	}
	if !vfs.IsMounted(f, "/a/b/deep/y") || vfs.IsMounted(f, "/own.txt") || vfs.IsMounted(f, "/a") {
		t.Fatal("IsMounted is wrong")
	}
	if _, err := vfs.NewMounts(home, []vfs.Mounted{{Path: "/", FS: pub}}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("a mount at / was accepted: %v", err)
	}
}
