package vfstest

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// Caps declares what a backend cannot do. For each, the suite checks that
// the operation is refused with vfs.ErrNotSupported and changes nothing,
// instead of checking that it works.
type Caps struct {
	NoLinks        bool // Symlink and Link
	NoAttributes   bool // Chmod, Chtimes, Truncate to another size
	NoRandomWrite  bool // writes at any offset, reads of an open upload
	NoFolderRename bool // renaming a folder that holds files
}

// tempHidden: uploads in progress never show, and no spelling of
// vfs.TempDir can be named.
func tempHidden(t *testing.T, f, _ vfs.FS, c Caps) {
	u, err := f.Create("/up")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort()
	io.WriteString(u, "pending")
	if n := Names(t, f, "/", 0); len(n) != 0 {
		t.Errorf("upload in progress listed: %q", n)
	}
	f.Mkdir("/d")
	paths := []string{"/" + vfs.TempDir, "/" + strings.ToUpper(vfs.TempDir), "/" + vfs.TempDir + ".",
		"/" + vfs.TempDir + "/x", "/d/" + vfs.TempDir, `/d\..\` + vfs.TempDir}
	if !c.NoLinks {
		if err := f.Symlink(".", "/self"); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, "/self/"+vfs.TempDir)
	}
	for _, p := range paths {
		_, err := f.Stat(p)
		Is(t, "Stat "+p, err, fs.ErrPermission)
		_, err = f.ReadDir(p)
		Is(t, "ReadDir "+p, err, fs.ErrPermission)
		_, err = f.Open(p)
		Is(t, "Open "+p, err, fs.ErrPermission)
		_, err = f.Create(p)
		Is(t, "Create "+p, err, fs.ErrPermission)
		Is(t, "Mkdir "+p, f.Mkdir(p), fs.ErrPermission)
		Is(t, "Rename into "+p, f.Rename("/d", p), fs.ErrPermission)
		Is(t, "Remove "+p, f.Remove(p), fs.ErrPermission)
	}
	for _, target := range []string{vfs.TempDir, "self/" + vfs.TempDir, "d/../" + vfs.TempDir + "/x"} {
		if c.NoLinks {
			break
		}
		Is(t, "Symlink to "+target, f.Symlink(target, "/t"), fs.ErrPermission)
	}
}

// largeListing lists a directory several batches long.
func largeListing(t *testing.T, f, _ vfs.FS, c Caps) {
	const batch, n = 50, 50*3 + 7
	if err := f.Mkdir("/big"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		name := fmt.Sprintf("f%04d", i)
		want = append(want, name)
		Put(t, f, "/big/"+name, nil)
	}
	u, _ := f.Create("/big/pending")
	defer u.Abort()
	if got := Names(t, f, "/big", batch); !slices.Equal(got, want) {
		t.Errorf("listed %d entries, want %d", len(got), len(want))
	}
}

func attributes(t *testing.T, f, _ vfs.FS, c Caps) {
	Put(t, f, "/a", []byte("abcdef"))
	when := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if c.NoAttributes {
		noAttributes(t, f, when)
	} else {
		setAttributes(t, f, when)
	}
	Is(t, "Truncate of a directory", f.Truncate("/", 0), vfs.ErrIsDir)
	Is(t, "Chmod of a missing file", f.Chmod("/nope", 0o600), fs.ErrNotExist)
	name := "/a" // "ab" after Truncate
	if c.NoAttributes {
		name = "/b"
	}
	r, err := f.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if off, err := r.Seek(1, io.SeekStart); off != 1 || err != nil {
		t.Errorf("Seek = %d %v", off, err)
	}
	b := make([]byte, 4)
	if n, err := r.Read(b); n != 1 || err != nil || b[0] != 'b' {
		t.Errorf("Read after Seek = %d %v %q", n, err, b[:n])
	}
	if _, err := r.Read(b); err != io.EOF {
		t.Errorf("Read at the end: %v", err)
	}
}

func setAttributes(t *testing.T, f vfs.FS, when time.Time) {
	if err := f.Truncate("/a", 2); err != nil {
		t.Fatal(err)
	}
	if err := f.Chmod("/a", 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Chtimes("/a", when); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat("/a")
	if err != nil || !fi.ModTime().Equal(when) || fi.Mode().Perm() != 0o600 || fi.Size() != 2 {
		t.Errorf("after Chtimes, Chmod, Truncate: %v %v", fi, err)
	}
	u, _ := f.Create("/m")
	if err := u.Chmod(0o640); err != nil {
		t.Fatal(err)
	}
	u.Commit()
	if fi, err := f.Stat("/m"); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode set on an upload: %v %v", fi, err)
	}
}

// noAttributes checks a backend that keeps no modes nor times and cannot
// cut a file: each is refused and the file is left as it was.
func noAttributes(t *testing.T, f vfs.FS, when time.Time) {
	Is(t, "Truncate", f.Truncate("/a", 2), vfs.ErrNotSupported)
	Is(t, "Chmod", f.Chmod("/a", 0o600), vfs.ErrNotSupported)
	Is(t, "Chtimes", f.Chtimes("/a", when), vfs.ErrNotSupported)
	if err := f.Truncate("/a", 6); err != nil {
		t.Errorf("Truncate to the same size: %v", err)
	}
	same(t, "after refusals", Get(t, f, "/a"), []byte("abcdef"))
	Put(t, f, "/b", []byte("ab"))
	u, _ := f.Create("/m")
	Is(t, "Chmod of an upload", u.Chmod(0o640), vfs.ErrNotSupported)
	if err := u.Commit(); err != nil {
		t.Errorf("an upload after a refused Chmod: %v", err)
	}
}
