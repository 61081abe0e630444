// Package vfstest is the conformance suite every vfs backend passes: the
// contract the protocols rely on, checked the same way on the local disk,
// in memory and on any later backend.
package vfstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// Open returns two views of one new, empty home: read-write and read-only.
type Open func(t *testing.T) (rw, ro vfs.FS)

// Run runs the suite against a backend that can do everything the local
// disk does.
func Run(t *testing.T, open Open) { RunCaps(t, open, Caps{}) }

// RunCaps runs the suite against a backend that declares in c what it
// cannot do.
func RunCaps(t *testing.T, open Open, c Caps) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, f, ro vfs.FS, c Caps)
	}{
		{"CreateCommit", createCommit},
		{"CreateAbort", createAbort},
		{"UploadEnds", uploadEnds},
		{"ResumeAtOffset", resumeAtOffset},
		{"Append", appendTo},
		{"RandomWrite", randomWrite},
		{"RenameOverFile", renameOverFile},
		{"HardLink", hardLink},
		{"Directories", directories},
		{"Escapes", escapes},
		{"SymlinkLoopAttack", symlinkLoopAttack},
		{"UnicodeNames", unicodeNames},
		{"ReadOnly", readOnly},
		{"TempHidden", tempHidden},
		{"LargeListing", largeListing},
		{"Attributes", attributes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ro := open(t)
			tc.fn(t, f, ro, c)
		})
	}
}

// Put uploads data to p atomically.
func Put(t *testing.T, f vfs.FS, p string, data []byte) {
	t.Helper()
	u, err := f.Create(p)
	if err != nil {
		t.Fatalf("Create(%q): %v", p, err)
	}
	if _, err := u.Write(data); err != nil {
		t.Fatalf("write %q: %v", p, err)
	}
	if err := u.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", p, err)
	}
}

// Get reads p whole.
func Get(t *testing.T, f vfs.FS, p string) []byte {
	t.Helper()
	r, err := f.Open(p)
	if err != nil {
		t.Fatalf("Open(%q): %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", p, err)
	}
	return b
}

// Names lists p whole, in batches of batch, sorted.
func Names(t *testing.T, f vfs.FS, p string, batch int) []string {
	t.Helper()
	ls, err := f.ReadDir(p)
	if err != nil {
		t.Fatalf("ReadDir(%q): %v", p, err)
	}
	defer ls.Close()
	var names []string
	for {
		infos, err := ls.Next(batch)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("listing %q: %v", p, err)
		}
		if len(infos) == 0 || batch > 0 && len(infos) > batch {
			t.Fatalf("listing %q: a batch of %d entries for Next(%d)", p, len(infos), batch)
		}
		for _, fi := range infos {
			names = append(names, fi.Name())
		}
	}
	if _, err := ls.Next(batch); err != io.EOF {
		t.Fatalf("listing %q: Next after the end returned %v, want io.EOF", p, err)
	}
	slices.Sort(names)
	return names
}

// Is fails the test unless err matches want.
func Is(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func same(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func createCommit(t *testing.T, f, _ vfs.FS, c Caps) {
	u, err := f.Create("/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "half")
	_, err = f.Stat("/a.txt")
	Is(t, "Stat before Commit", err, fs.ErrNotExist)
	if n := Names(t, f, "/", 0); len(n) != 0 {
		t.Errorf("upload in progress listed: %q", n)
	}
	io.WriteString(u, " and whole")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	same(t, "committed", Get(t, f, "/a.txt"), []byte("half and whole"))
	fi, err := f.Stat("/a.txt")
	if err != nil || fi.Size() != 14 || !fi.Mode().IsRegular() || fi.Name() != "a.txt" {
		t.Errorf("Stat after Commit: %v %v", fi, err)
	}
	_, err = f.Create("/")
	Is(t, `Create("/")`, err, vfs.ErrIsDir)
	_, err = f.Create("/missing/x")
	Is(t, "Create in a missing directory", err, fs.ErrNotExist)
	_, err = f.Create("/a.txt/x")
	Is(t, "Create under a file", err, vfs.ErrNotDir)
}

func createAbort(t *testing.T, f, _ vfs.FS, c Caps) {
	u, _ := f.Create("/a")
	io.WriteString(u, "gone")
	if err := u.Abort(); err != nil {
		t.Fatal(err)
	}
	_, err := f.Stat("/a")
	Is(t, "Stat after Abort", err, fs.ErrNotExist)
	Put(t, f, "/a", []byte("kept"))
	u, _ = f.Create("/a")
	io.WriteString(u, "new")
	u.Abort()
	same(t, "aborted replace", Get(t, f, "/a"), []byte("kept"))
	if n := Names(t, f, "/", 0); !slices.Equal(n, []string{"a"}) {
		t.Errorf("listing after aborts: %q", n)
	}
}

func uploadEnds(t *testing.T, f, _ vfs.FS, c Caps) {
	u, _ := f.Create("/e")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	_, err := u.Write([]byte("x"))
	Is(t, "Write after Commit", err, fs.ErrClosed)
	Is(t, "second Commit", u.Commit(), fs.ErrClosed)
	if err := u.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if fi, err := f.Stat("/e"); err != nil || fi.Size() != 0 {
		t.Errorf("empty upload: %v %v", fi, err)
	}
}

func resumeAtOffset(t *testing.T, f, _ vfs.FS, c Caps) {
	Put(t, f, "/r", []byte("0123456789"))
	u, err := f.OpenAt("/r", 4)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "abc")
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	same(t, "resume at 4", Get(t, f, "/r"), []byte("0123abc"))
	_, err = f.OpenAt("/r", 8)
	Is(t, "offset past the end", err, vfs.ErrBadOffset)
	_, err = f.OpenAt("/new", 5)
	Is(t, "offset into a missing file", err, vfs.ErrBadOffset)
	_, err = f.Stat("/new")
	Is(t, "a refused resume created the file", err, fs.ErrNotExist)
	u, err = f.OpenAt("/new", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(u, "fresh")
	u.Abort() // in place: what was written stays for the next resume
	same(t, "in-place bytes after Abort", Get(t, f, "/new"), []byte("fresh"))
}

func appendTo(t *testing.T, f, _ vfs.FS, c Caps) {
	Put(t, f, "/log", []byte("one\n"))
	for _, s := range []string{"two\n", "three\n"} {
		u, err := f.OpenAt("/log", -1)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(u, s)
		if err := u.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	same(t, "append", Get(t, f, "/log"), []byte("one\ntwo\nthree\n"))
	u, err := f.OpenAt("/fresh", -1)
	if err != nil {
		t.Fatalf("append creates: %v", err)
	}
	io.WriteString(u, "x")
	u.Commit()
	same(t, "append to a new file", Get(t, f, "/fresh"), []byte("x"))
}

func randomWrite(t *testing.T, f, _ vfs.FS, c Caps) {
	if c.NoRandomWrite {
		t.Skip("declared: no writes at any offset (its own tests check what it does)")
	}
	Put(t, f, "/rw", []byte("abcdefgh"))
	u, err := f.OpenRandom("/rw")
	if err != nil {
		t.Fatal(err)
	}
	u.WriteAt([]byte("XY"), 6)
	u.WriteAt([]byte("12"), 1)
	u.WriteAt([]byte("!"), 10) // past the end: a hole of zeros
	buf := make([]byte, 4)
	if n, err := u.ReadAt(buf, 0); n != 4 || err != nil || string(buf) != "a12d" {
		t.Errorf("ReadAt = %d %v %q", n, err, buf)
	}
	if fi, err := u.Stat(); err != nil || fi.Size() != 11 {
		t.Errorf("Stat during writes: %v %v", fi, err)
	}
	if err := u.Sync(); err != nil {
		t.Error(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	same(t, "random writes", Get(t, f, "/rw"), []byte("a12defXY\x00\x00!"))
	u, _ = f.OpenRandom("/rw")
	if err := u.Truncate(3); err != nil {
		t.Fatal(err)
	}
	u.Commit()
	same(t, "truncated", Get(t, f, "/rw"), []byte("a12"))
	u, err = f.OpenRandom("/created")
	if err != nil {
		t.Fatal(err)
	}
	u.WriteAt([]byte("c"), 0)
	u.Commit()
	same(t, "OpenRandom creates", Get(t, f, "/created"), []byte("c"))
	_, err = f.OpenRandom("/")
	Is(t, `OpenRandom("/")`, err, vfs.ErrIsDir)
}

func hardLink(t *testing.T, f, ro vfs.FS, c Caps) {
	Put(t, f, "/a", []byte("data"))
	if c.NoLinks {
		Is(t, "Link without links", f.Link("/a", "/b"), vfs.ErrNotSupported)
		Is(t, "link out of the home", f.Link("/a", "/../x"), vfs.ErrEscape)
		Is(t, "link as read-only", ro.Link("/a", "/z"), vfs.ErrReadOnly)
		_, err := f.Stat("/b")
		Is(t, "a refused link exists", err, fs.ErrNotExist)
		return
	}
	if err := f.Link("/a", "/b"); err != nil {
		t.Fatal(err)
	}
	if err := f.Remove("/a"); err != nil {
		t.Fatal(err)
	}
	same(t, "the link after its first name went", Get(t, f, "/b"), []byte("data"))
	// Writes in place reach every name; an atomic upload replaces one.
	if err := f.Link("/b", "/c"); err != nil {
		t.Fatal(err)
	}
	u, err := f.OpenAt("/b", 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("+")); err != nil {
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	same(t, "a write through the other name", Get(t, f, "/c"), []byte("data+"))
	Put(t, f, "/b", []byte("new"))
	same(t, "the link after an upload over its sibling", Get(t, f, "/c"), []byte("data+"))
	if err := f.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	Is(t, "link over an existing name", f.Link("/b", "/c"), fs.ErrExist)
	Is(t, "link over the home", f.Link("/b", "/"), fs.ErrExist)
	Is(t, "link a missing file", f.Link("/nope", "/x"), fs.ErrNotExist)
	Is(t, "link a directory", f.Link("/d", "/e"), vfs.ErrIsDir)
	Is(t, "link out of the home", f.Link("/b", "/../x"), vfs.ErrEscape)
	Is(t, "link from outside the home", f.Link("/../etc/passwd", "/x"), vfs.ErrEscape)
	Is(t, "link into the upload folder", f.Link("/b", "/"+vfs.TempDir+"/x"), fs.ErrPermission)
	Is(t, "link as read-only", ro.Link("/b", "/z"), vfs.ErrReadOnly)
}

func renameOverFile(t *testing.T, f, _ vfs.FS, c Caps) {
	Put(t, f, "/old", []byte("old"))
	Put(t, f, "/new", []byte("new"))
	if err := f.Rename("/new", "/old"); err != nil {
		t.Fatal(err)
	}
	same(t, "renamed over", Get(t, f, "/old"), []byte("new"))
	if n := Names(t, f, "/", 0); !slices.Equal(n, []string{"old"}) {
		t.Errorf("after rename: %q", n)
	}
	Is(t, "rename a missing file", f.Rename("/nope", "/x"), fs.ErrNotExist)
	Is(t, "rename the home", f.Rename("/", "/x"), fs.ErrPermission)
	Is(t, "rename over the home", f.Rename("/old", "/"), fs.ErrPermission)
	f.Mkdir("/d")
	f.Mkdir("/full")
	Put(t, f, "/full/x", nil)
	Is(t, "file over a directory", f.Rename("/old", "/d"), fs.ErrExist)
	Is(t, "directory over a directory", f.Rename("/d", "/full"), fs.ErrExist)
	Is(t, "directory over a file", f.Rename("/d", "/old"), vfs.ErrNotDir)
	Is(t, "directory into itself", f.Rename("/full", "/full/sub"), fs.ErrInvalid)
	if c.NoFolderRename {
		Is(t, "folder rename", f.Rename("/full", "/d/moved"), vfs.ErrNotSupported)
		if _, err := f.Stat("/full/x"); err != nil {
			t.Errorf("a refused folder rename lost a file: %v", err)
		}
		return
	}
	if err := f.Rename("/full", "/d/moved"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat("/d/moved/x"); err != nil {
		t.Errorf("moved directory lost its file: %v", err)
	}
}

func directories(t *testing.T, f, _ vfs.FS, c Caps) {
	if err := f.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	Is(t, "Mkdir twice", f.Mkdir("/d"), fs.ErrExist)
	Is(t, "Mkdir of the home", f.Mkdir("/"), fs.ErrExist)
	Is(t, "Mkdir in a missing directory", f.Mkdir("/no/d"), fs.ErrNotExist)
	Put(t, f, "/d/x", []byte("x"))
	Is(t, "Rmdir of a non-empty directory", f.Rmdir("/d"), vfs.ErrNotEmpty)
	Is(t, "Remove of a directory", f.Remove("/d"), vfs.ErrIsDir)
	Is(t, "Rmdir of a file", f.Rmdir("/d/x"), vfs.ErrNotDir)
	Is(t, "Rmdir of the home", f.Rmdir("/"), fs.ErrPermission)
	Is(t, "Remove of a missing file", f.Remove("/d/nope"), fs.ErrNotExist)
	_, err := f.Open("/d")
	Is(t, "Open of a directory", err, vfs.ErrIsDir)
	_, err = f.Open("/nope")
	Is(t, "Open of a missing file", err, fs.ErrNotExist)
	_, err = f.ReadDir("/d/x")
	Is(t, "ReadDir of a file", err, vfs.ErrNotDir)
	_, err = f.ReadDir("/nope")
	Is(t, "ReadDir of a missing directory", err, fs.ErrNotExist)
	if err := f.Remove("/d/x"); err != nil {
		t.Fatal(err)
	}
	if err := f.Rmdir("/d"); err != nil {
		t.Fatal(err)
	}
	if n := Names(t, f, "/", 0); len(n) != 0 {
		t.Errorf("home not empty: %q", n)
	}
}

func escapes(t *testing.T, f, _ vfs.FS, c Caps) {
	Put(t, f, "/in", []byte("inside"))
	for _, p := range []string{"/..", "/../in", "/a/../../in"} {
		_, err := f.Stat(p)
		Is(t, "Stat "+p, err, vfs.ErrEscape)
		_, err = f.Create(p)
		Is(t, "Create "+p, err, vfs.ErrEscape)
	}
	if c.NoLinks {
		Is(t, "Symlink without links", f.Symlink("in", "/l"), vfs.ErrNotSupported)
		Is(t, "Symlink out of the home", f.Symlink("in", "/../l"), vfs.ErrEscape)
		_, err := f.Readlink("/in")
		Is(t, "Readlink of a file", err, fs.ErrInvalid)
		return
	}
	for _, target := range []string{"..", "../x", "a/../../x", "/etc/passwd", `\x`, "C:x"} {
		Is(t, fmt.Sprintf("Symlink(%q)", target), f.Symlink(target, "/l"), vfs.ErrEscape)
	}
	Is(t, "Symlink to nothing", f.Symlink("", "/l"), fs.ErrInvalid)
	if err := f.Mkdir("/d"); err != nil {
		t.Fatal(err)
	}
	if err := f.Symlink("../in", "/d/up"); err != nil {
		t.Fatalf("a link up to a file in the home: %v", err)
	}
	same(t, "read through the link", Get(t, f, "/d/up"), []byte("inside"))
	if fi, err := f.Lstat("/d/up"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat of a link: %v %v", fi, err)
	}
	if tg, err := f.Readlink("/d/up"); err != nil || tg != "../in" {
		t.Errorf("Readlink = %q %v", tg, err)
	}
	_, err := f.Readlink("/in")
	Is(t, "Readlink of a file", err, fs.ErrInvalid)
	if err := f.Symlink("gone/deeper", "/dangling"); err != nil {
		t.Errorf("a dangling link that only descends: %v", err)
	}
	Is(t, "a dangling link that climbs", f.Symlink("gone/../../x", "/l"), vfs.ErrEscape)
	if err := f.Symlink("a", "/b"); err != nil {
		t.Fatal(err)
	}
	if err := f.Symlink("b", "/a"); err != nil {
		t.Fatal(err)
	}
	_, err = f.Stat("/a")
	Is(t, "Stat of a link loop", err, vfs.ErrLoop)
	Is(t, "Symlink through a loop", f.Symlink("a/x", "/l"), vfs.ErrLoop)
}

// symlinkLoopAttack is the attack a lexical check missed: with
// "loop -> .", "loop/loop/loop/../../../etc/passwd" looks like a path
// inside the home but leads three levels above it on the disk.
func symlinkLoopAttack(t *testing.T, f, _ vfs.FS, c Caps) {
	if c.NoLinks {
		t.Skip("declared: no links (Escapes checks that Symlink is refused)")
	}
	if err := f.Symlink(".", "/loop"); err != nil {
		t.Fatal(err)
	}
	Is(t, "link out through loop", f.Symlink("loop/loop/loop/../../../etc/passwd", "/pw"), vfs.ErrEscape)
	Is(t, "link out through loop/..", f.Symlink("loop/..", "/up"), vfs.ErrEscape)
	f.Mkdir("/d")
	Is(t, "link out from a subdirectory", f.Symlink("../loop/../x", "/d/pw"), vfs.ErrEscape)
	Is(t, "a link made in the home through loop", f.Symlink("../..", "/loop/loop/pw"), vfs.ErrEscape)
	if err := f.Symlink("loop/loop/in", "/ok"); err != nil {
		t.Errorf("a link through loop that stays inside: %v", err)
	}
	_, err := f.Lstat("/pw")
	Is(t, "the refused link exists", err, fs.ErrNotExist)
}

func unicodeNames(t *testing.T, f, _ vfs.FS, c Caps) {
	const dir, name = "/Ünïcødé 目录", "ファイル 😀.txt"
	if err := f.Mkdir(dir); err != nil {
		t.Fatal(err)
	}
	Put(t, f, dir+"/"+name, []byte("ü"))
	if n := Names(t, f, dir, 0); !slices.Equal(n, []string{name}) {
		t.Errorf("listing: %q", n)
	}
	if err := f.Rename(dir+"/"+name, "/ñ"); err != nil {
		t.Fatal(err)
	}
	same(t, "unicode rename", Get(t, f, "/ñ"), []byte("ü"))
}

func readOnly(t *testing.T, f, ro vfs.FS, c Caps) {
	Put(t, f, "/f", []byte("x"))
	f.Mkdir("/d")
	if !ro.ReadOnly() || f.ReadOnly() {
		t.Fatal("ReadOnly() does not tell the views apart")
	}
	checks := map[string]error{}
	_, checks["Create"] = ro.Create("/g")
	_, checks["OpenAt"] = ro.OpenAt("/f", 0)
	_, checks["OpenRandom"] = ro.OpenRandom("/f")
	checks["Mkdir"] = ro.Mkdir("/e")
	checks["Remove"] = ro.Remove("/f")
	checks["Rmdir"] = ro.Rmdir("/d")
	checks["Rename"] = ro.Rename("/f", "/h")
	checks["Chtimes"] = ro.Chtimes("/f", time.Now())
	checks["Chmod"] = ro.Chmod("/f", 0o600)
	checks["Truncate"] = ro.Truncate("/f", 0)
	checks["Symlink"] = ro.Symlink("f", "/l")
	for op, err := range checks {
		if !errors.Is(err, vfs.ErrReadOnly) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s by a read-only user: %v", op, err)
		}
	}
	same(t, "read-only read", Get(t, ro, "/f"), []byte("x"))
	if n := Names(t, ro, "/", 0); !slices.Equal(n, []string{"d", "f"}) {
		t.Errorf("read-only listing: %q", n)
	}
}
