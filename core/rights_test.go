package core

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

func TestParseRights(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rights
		ok   bool
	}{
		{"list,download", ReadRights, true},
		{" Upload ", RightUpload, true},
		{"all", AllRights, true},
		{"", 0, true},
		{"none", 0, true},
		{"list,,mkdir", RightList | RightMkdir, true},
		{"read", 0, false},
		{"list;download", 0, false},
	} {
		got, err := ParseRights(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseRights(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err == nil && tc.in != "" {
			if back, _ := ParseRights(got.String()); back != got {
				t.Errorf("%q does not round-trip through %q", tc.in, got.String())
			}
		}
	}
	if !errors.Is(func() error { _, err := ParseRights("x"); return err }(), ErrBadRights) {
		t.Error("an unknown right is not ErrBadRights")
	}
}

// TestRulesAt: the deepest folder wins, subfolders inherit, a folder is
// not a prefix of a sibling with a longer name, spellings a
// case-insensitive file system merges are the same folder, and the home's
// default is every right or a read-only account's.
func TestRulesAt(t *testing.T) {
	u := store.User{Name: "p", Rules: []store.Rule{
		{Path: "/outgoing", Rights: "list,download"},
		{Path: "/incoming", Rights: "upload"},
		{Path: "/incoming/reviewed", Rights: "list"},
		{Path: "/closed/", Rights: "none"},
	}}
	rs, err := NewRules(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    string
		want Rights
	}{
		{"/", AllRights},
		{"/other/x", AllRights},
		{"/outgoing", ReadRights},
		{"/outgoing/a/b/c.txt", ReadRights},
		{"/outgoing2/x", AllRights},
		{"/OUTGOING/x", ReadRights},
		{"/outgoing./x", ReadRights},
		{"/outgoing:stream", ReadRights},
		{"/incoming/new.bin", RightUpload},
		{"/incoming/reviewed/x", RightList},
		{"/incoming/reviewed2", RightUpload},
		{"/closed/x", 0},
		{"/outgoing/../incoming/x", RightUpload},
	} {
		if got := rs.At(tc.p); got != tc.want {
			t.Errorf("At(%s) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if !rs.below("/incoming") || rs.below("/outgoing") || !rs.below("/") {
		t.Error("below is wrong")
	}
	u.ReadOnly = true
	rs, _ = NewRules(u)
	if rs.At("/x") != ReadRights || rs.At("/incoming/x") != RightUpload {
		t.Errorf("read-only home: %v, incoming %v", rs.At("/x"), rs.At("/incoming/x"))
	}
	u.Rules = append(u.Rules, store.Rule{Path: "/", Rights: "list"})
	if rs, _ = NewRules(u); rs.At("/x") != RightList {
		t.Errorf("a rule on / does not set the home: %v", rs.At("/x"))
	}
	if rs, err := NewRules(store.User{}); rs != nil || err != nil {
		t.Errorf("no rules: %v %v", rs, err)
	}
	for _, bad := range []store.Rule{{Path: "/x", Rights: "read"}, {Path: "x", Rights: "list"}, {Path: "/../x", Rights: "list"}, {Path: "/" + vfs.TempDir, Rights: "all"}} {
		if _, err := NewRules(store.User{Rules: []store.Rule{bad}}); err == nil {
			t.Errorf("rule %+v accepted", bad)
		}
	}
}

// TestPermFS: a drop box and a published folder side by side in memory;
// every operation is granted or refused as the rules say, refusals are
// vfs.ErrNotAllowed and each is reported.
func TestPermFS(t *testing.T) {
	mem := vfs.NewMemory(false)
	for _, d := range []string{"/outgoing", "/incoming", "/work"} {
		if err := mem.Mkdir(d); err != nil {
			t.Fatal(err)
		}
	}
	vfstest.Put(t, mem, "/outgoing/report.pdf", []byte("report"))
	vfstest.Put(t, mem, "/incoming/old.bin", []byte("old"))
	vfstest.Put(t, mem, "/work/w.txt", []byte("work"))
	rs, err := NewRules(store.User{Rules: []store.Rule{
		{Path: "/outgoing", Rights: "list,download"},
		{Path: "/incoming", Rights: "upload"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var refused []string
	f := permFS{FS: mem, rules: rs, refuse: func(p, reason string) { refused = append(refused, p+": "+reason) }}
	denied := func(what string, err error) {
		t.Helper()
		n := len(refused)
		if !errors.Is(err, vfs.ErrNotAllowed) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s: %v, want ErrNotAllowed", what, err)
		}
		if n == 0 {
			t.Errorf("%s: no refused event", what)
		}
		refused = refused[:0]
	}
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}

	// The published folder: list and download only.
	if got := string(vfstest.Get(t, f, "/outgoing/report.pdf")); got != "report" {
		t.Fatalf("download: %q", got)
	}
	if names := vfstest.Names(t, f, "/outgoing", 0); !slices.Equal(names, []string{"report.pdf"}) {
		t.Fatalf("list outgoing: %v", names)
	}
	_, err = f.Create("/outgoing/new")
	denied("upload into outgoing", err)
	_, err = f.Create("/outgoing/report.pdf")
	denied("overwrite in outgoing", err)
	_, err = f.OpenAt("/outgoing/report.pdf", -1)
	denied("append in outgoing", err)
	denied("delete in outgoing", f.Remove("/outgoing/report.pdf"))
	denied("rename in outgoing", f.Rename("/outgoing/report.pdf", "/outgoing/r.pdf"))
	denied("mkdir in outgoing", f.Mkdir("/outgoing/d"))
	denied("chmod in outgoing", f.Chmod("/outgoing/report.pdf", 0o777))
	denied("truncate in outgoing", f.Truncate("/outgoing/report.pdf", 0))
	denied("rmdir outgoing", f.Rmdir("/outgoing"))
	denied("move outgoing away", f.Rename("/outgoing", "/work/o"))

	// The drop box: new files only, never shown, read or replaced.
	vfstest.Put(t, f, "/incoming/new.bin", []byte("secret"))
	if got := string(vfstest.Get(t, mem, "/incoming/new.bin")); got != "secret" {
		t.Fatalf("the upload landed as %q", got)
	}
	l, err := f.ReadDir("/incoming")
	ok("list incoming", err)
	if fis, err := l.Next(0); len(fis) != 0 || err != io.EOF {
		t.Errorf("incoming lists %d entries, %v", len(fis), err)
	}
	l.Close()
	refused = refused[:0]
	_, err = f.Stat("/incoming/new.bin")
	denied("stat of a drop-box file", err)
	if _, err := f.Stat("/incoming/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat of a missing name in the drop box: %v", err)
	}
	if fi, err := f.Stat("/incoming"); err != nil || !fi.IsDir() {
		t.Errorf("stat of the drop box itself: %v", err)
	}
	_, err = f.Open("/incoming/new.bin")
	denied("download from incoming", err)
	_, err = f.Create("/incoming/new.bin")
	denied("overwrite in incoming", err)
	_, err = f.OpenAt("/incoming/old.bin", 3)
	denied("resume into an existing file in incoming", err)
	_, err = f.OpenRandom("/incoming/old.bin")
	denied("read-write open of an existing file in incoming", err)
	up, err := f.OpenRandom("/incoming/fresh.bin")
	ok("read-write open of a new file in incoming", err)
	up.Write([]byte("abc"))
	_, err = up.ReadAt(make([]byte, 3), 0)
	denied("read back through a read-write handle", err)
	up.Abort()
	denied("delete in incoming", f.Remove("/incoming/new.bin"))
	denied("rename in incoming", f.Rename("/incoming/new.bin", "/incoming/x"))
	denied("move out of incoming", f.Rename("/incoming/new.bin", "/work/x"))
	denied("setstat in incoming", f.Chtimes("/incoming/new.bin", time.Now()))
	denied("mkdir in incoming", f.Mkdir("/incoming/d"))

	// Moves and links across folders.
	ok("rename in work", f.Rename("/work/w.txt", "/work/w2.txt"))
	vfstest.Put(t, f, "/work/w.txt", []byte("again"))
	ok("move into the drop box", f.Rename("/work/w.txt", "/incoming/w.txt"))
	vfstest.Put(t, f, "/work/w.txt", []byte("again"))
	denied("move over a drop-box file", f.Rename("/work/w.txt", "/incoming/w.txt"))
	denied("move into outgoing", f.Rename("/work/w.txt", "/outgoing/w.txt"))
	denied("link a drop-box file out", f.Link("/incoming/new.bin", "/work/leak"))
	denied("link into outgoing", f.Link("/work/w.txt", "/outgoing/w"))
	denied("link a published file into work", f.Link("/outgoing/report.pdf", "/work/r2"))
	// work grants overwrite and outgoing does not: the link above would
	// let the report be changed through /work/r2.
	if _, err := mem.Lstat("/work/r2"); err == nil {
		t.Error("a link made a published file writable")
	}
	refused = refused[:0]
	denied("symlink", f.Symlink("../incoming/new.bin", "/work/l"))
	if f.ReadOnly() {
		t.Error("an FS with writable folders says read-only")
	}
	if _, err := f.Create("/work/new"); err != nil {
		t.Errorf("upload into work: %v", err)
	}
}
