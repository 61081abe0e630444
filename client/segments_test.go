package client

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// Segments, parallel trees and symbolic links against the peers: OpenSSH's
// sftp-server and vsftpd (TLS required, data connections resuming the
// control connection's session).

// interruptAt is a Progress that interrupts the transfer once at bytes
// have moved, as a user's Ctrl-C would.
type interruptAt struct {
	x     *Transfer
	at    int64
	moved atomic.Int64
	once  sync.Once
}

func (p *interruptAt) Plan(int, int64) {}
func (p *interruptAt) Done(File)       {}
func (p *interruptAt) Start(string, int64, int64) Meter {
	return meterFunc(func(n int64) {
		if p.moved.Add(n) >= p.at {
			p.once.Do(func() { go p.x.Interrupt() })
		}
	})
}

type meterFunc func(int64)

func (f meterFunc) Add(n int64) { f(n) }
func (meterFunc) Finish()       {}

// peer is a server under test: how to reach it and where its files are.
type peer struct {
	url    string
	o      Options
	onDisk func(remote string) string // the local path of a remote one
	canPut bool                       // uploads go in segments
	own    func(local string)         // hands files made by the test to the server's user
}

func (p peer) pool(t *testing.T, size int) *Pool {
	t.Helper()
	target, err := ParseURL(p.url)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPool(target, p.o, size)
	if err != nil {
		t.Fatalf("dial %s: %v", Redact(p.url), err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func sameBytes(t *testing.T, file string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		j := i
		for j < len(got) && j < len(want) && got[j] != want[j] {
			j++
		}
		t.Fatalf("%s: %d bytes, want %d, not byte-exact: first difference at %d, differing up to %d", file, len(got), len(want), i, j)
	}
}

// segmentsAndResume moves a file in 4 segments both ways, then interrupts
// a segmented download (and, where uploads go in segments, an upload) a
// third of the way and continues it with Resume.
func segmentsAndResume(t *testing.T, p peer, dir string) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	local := t.TempDir()
	data := testutil.RandomBytes(24<<20+777, 61)
	src := filepath.Join(local, "src.bin")
	os.WriteFile(src, data, 0o644)
	remote := path.Join(dir, "seg.bin")

	x := &Transfer{Pool: p.pool(t, 4), Segments: 4}
	if err := x.Put(src, remote); err != nil {
		t.Fatalf("put: %v", err)
	}
	sameBytes(t, p.onDisk(remote), data)
	if p.canPut && x.Files[0].Segments < 4 {
		t.Fatalf("upload went in %d segments, want 4", x.Files[0].Segments)
	}
	dst := filepath.Join(local, "dst.bin")
	if err := x.Get(remote, dst); err != nil {
		t.Fatalf("get: %v", err)
	}
	sameBytes(t, dst, data)
	if x.Files[1].Segments < 4 {
		t.Fatalf("download went in %d segments, want 4", x.Files[1].Segments)
	}

	cut := filepath.Join(local, "cut.bin")
	x = &Transfer{Pool: p.pool(t, 4), Segments: 4}
	x.Progress = &interruptAt{x: x, at: int64(len(data)) / 3}
	if err := x.Get(remote, cut); ExitCode(err) != ExitIncomplete {
		t.Fatalf("interrupted download: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	if _, err := os.Stat(cut + partSuffix + stateSuffix); err != nil {
		t.Fatalf("no segment record after the interruption: %v", err)
	}
	x = &Transfer{Pool: p.pool(t, 4), Segments: 4, Resume: true}
	if err := x.Get(remote, cut); err != nil {
		t.Fatalf("resumed download: %v", err)
	}
	sameBytes(t, cut, data)
	if f := x.Files[0]; f.ResumedFrom == 0 || f.ResumedFrom+f.Transferred != int64(len(data)) {
		t.Fatalf("resumed download did not continue the segments: %+v", f)
	}
	// A record of another version of the file is not continued.
	x = &Transfer{Pool: p.pool(t, 4), Segments: 4}
	x.Progress = &interruptAt{x: x, at: int64(len(data)) / 3}
	if err := x.Get(remote, cut+"2"); ExitCode(err) != ExitIncomplete {
		t.Fatalf("interrupted download: %v", err)
	}
	other := testutil.RandomBytes(len(data), 62)
	os.WriteFile(p.onDisk(remote), other, 0o644)
	os.Chtimes(p.onDisk(remote), time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	var notes strings.Builder
	x = &Transfer{Pool: p.pool(t, 4), Segments: 4, Resume: true, Notice: &notes}
	if err := x.Get(remote, cut+"2"); err != nil {
		t.Fatalf("download of the changed file: %v", err)
	}
	sameBytes(t, cut+"2", other)
	if !strings.Contains(notes.String(), "another version") {
		t.Fatalf("no note that the part was of another version: %q", notes.String())
	}
	os.WriteFile(p.onDisk(remote), data, 0o644)
	if !p.canPut {
		return
	}
	// The record counts what the server may not have acknowledged yet (a
	// few MiB a segment) as not sent: cut later, so something is left.
	up := path.Join(dir, "cut-up.bin")
	x = &Transfer{Pool: p.pool(t, 4), Segments: 2}
	x.Progress = &interruptAt{x: x, at: int64(len(data)) * 3 / 4}
	if err := x.Put(src, up); ExitCode(err) != ExitIncomplete {
		t.Fatalf("interrupted upload: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	if _, err := os.Stat(p.onDisk(up)); !os.IsNotExist(err) {
		t.Fatalf("an interrupted segmented upload is visible under its name: %v", err)
	}
	x = &Transfer{Pool: p.pool(t, 4), Segments: 2, Resume: true}
	if err := x.Put(src, up); err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	sameBytes(t, p.onDisk(up), data)
	if f := x.Files[0]; f.ResumedFrom == 0 || f.ResumedFrom+f.Transferred != int64(len(data)) {
		t.Fatalf("resumed upload did not continue the segments: %+v", f)
	}
}

// treesAndLinks copies a tree both ways, 4 files at once, then walks a
// tree with a loop a/b -> .., a link to a file and a dangling link, and
// removes a tree holding a link to a folder outside it.
func treesAndLinks(t *testing.T, p peer, dir string) {
	local := t.TempDir()
	tree := filepath.Join(local, "tree")
	for i := range 30 {
		f := filepath.Join(tree, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		os.MkdirAll(filepath.Dir(f), 0o755)
		os.WriteFile(f, testutil.RandomBytes(i*1111, uint64(i)), 0o644)
	}
	pool := p.pool(t, 4)
	x := &Transfer{Pool: pool, Recursive: true}
	if err := x.Put(tree, path.Join(dir, "tree")); err != nil {
		t.Fatalf("put -r: %v", err)
	}
	if err := x.Get(path.Join(dir, "tree"), filepath.Join(local, "back")); err != nil {
		t.Fatalf("get -r: %v", err)
	}
	for i := range 30 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		want := testutil.RandomBytes(i*1111, uint64(i))
		sameBytes(t, filepath.Join(p.onDisk(path.Join(dir, "tree")), rel), want)
		sameBytes(t, filepath.Join(local, "back", rel), want)
	}

	looped := p.onDisk(path.Join(dir, "looped"))
	os.MkdirAll(filepath.Join(looped, "a"), 0o755)
	os.WriteFile(filepath.Join(looped, "top.txt"), []byte("top"), 0o644)
	os.WriteFile(filepath.Join(looped, "a", "inner.txt"), []byte("inner"), 0o644)
	os.Symlink("..", filepath.Join(looped, "a", "b"))
	os.Symlink("top.txt", filepath.Join(looped, "alias.txt"))
	os.Symlink("nowhere", filepath.Join(looped, "dangling"))
	outside := filepath.Join(p.onDisk(dir), "outside")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "keep.txt"), []byte("keep"), 0o644)
	os.Symlink("../outside", filepath.Join(looped, "out"))
	if p.own != nil {
		p.own(looped)
		p.own(outside)
	}
	var notes strings.Builder
	x = &Transfer{Pool: pool, Recursive: true, Notice: &notes}
	dst := filepath.Join(local, "looped")
	if err := x.Get(path.Join(dir, "looped"), dst); err != nil {
		t.Fatalf("get -r of a tree with a loop: %v", err)
	}
	var got []string
	filepath.Walk(dst, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != dst {
			rel, _ := filepath.Rel(dst, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	want := "a a/inner.txt alias.txt out out/keep.txt top.txt"
	if strings.Join(got, " ") != want {
		t.Fatalf("get -r made %v, want %s; notes:\n%s", got, want, notes.String())
	}
	if !strings.Contains(notes.String(), "loop") || !strings.Contains(notes.String(), "dangling") {
		t.Fatalf("no note of the loop or the dangling link:\n%s", notes.String())
	}
	if n, err := x.RemoveAll(path.Join(dir, "looped")); err != nil || n != 8 {
		t.Fatalf("RemoveAll: %d deleted, %v; want 8", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "keep.txt")); err != nil || string(b) != "keep" {
		t.Fatalf("RemoveAll followed a link out of the tree: %v", err)
	}
}

func TestPeersOpenSSH(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	base := t.TempDir()
	p := peer{url: sftpURL(s.Port, "/"), o: o, onDisk: func(r string) string { return r }, canPut: true}
	t.Run("segments", func(t *testing.T) { segmentsAndResume(t, p, base) })
	t.Run("trees", func(t *testing.T) { treesAndLinks(t, p, base) })
}

func TestPeersVsftpd(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{})
	o := testOptions(t)
	p := peer{url: ftpURL("ftpes", v.Port), o: o, onDisk: func(r string) string { return filepath.Join(v.Root, r) },
		own: func(local string) {
			if out, err := exec.Command("chown", "-R", "-h", ftpUser, local).CombinedOutput(); err != nil {
				t.Fatalf("chown: %v: %s", err, out)
			}
		}}
	t.Run("segments", func(t *testing.T) { segmentsAndResume(t, p, "") })
	t.Run("trees", func(t *testing.T) { treesAndLinks(t, p, "") })
}
