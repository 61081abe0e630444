package e2e

// The client's fixes of issue 15, each over every scheme of `ferry serve`:
// names that need escaping, "-" for standard input and output, rm -r,
// mkdir -p, a missing destination folder, per-command help, and symbolic
// links during -r (a loop a/b -> .., a link to a file, a dangling link).

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// clientSchemes are the URL schemes the client tests run over, with the
// server's port for each.
func clientSchemes(s *server) []struct {
	scheme string
	port   int
} {
	return []struct {
		scheme string
		port   int
	}{{"ftpes", s.Cfg.FTP.Port}, {"ftps", s.Cfg.FTP.ImplicitPort}, {"sftp", s.Cfg.SFTP.Port}, {"https", s.Cfg.HTTP.HTTPSPort}}
}

// escapePath writes a slash-separated path for a URL, each segment escaped.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func TestClientFixes(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-fixes-pw"
	home := s.addUser("fred", pw)
	s.start()
	for _, sc := range clientSchemes(s) {
		t.Run(sc.scheme, func(t *testing.T) {
			t.Parallel()
			base := fmt.Sprintf("%s://fred@%s/%s", sc.scheme, s.addr(sc.port), sc.scheme)
			dir := filepath.Join(home, sc.scheme)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, part := range []struct {
				name string
				run  func(*testing.T, *ferryClient, string, string)
			}{{"names", clientNames}, {"stdio", clientStdio}, {"folders", clientFolders}, {"links", clientLinks}} {
				t.Run(part.name, func(t *testing.T) { part.run(t, newFerryClient(t, pw), base, dir) })
			}
		})
	}
	t.Run("progress", func(t *testing.T) {
		t.Parallel()
		clientProgress(t, newFerryClient(t, pw), fmt.Sprintf("sftp://fred@%s/progress", s.addr(s.Cfg.SFTP.Port)), filepath.Join(home, "progress"))
	})
	t.Run("help", func(t *testing.T) {
		c := newFerryClient(t, pw)
		get := c.ok("get", "-h")
		ls := c.ok("ls", "-h")
		rm := c.ok("rm", "-h")
		for _, want := range []string{"usage: ferry get URL", "examples:", "ferry get -r -c", "-segments", "-parallel", "standard output"} {
			if !strings.Contains(get, want) {
				t.Errorf("ferry get -h lacks %q:\n%s", want, get)
			}
		}
		if !strings.Contains(ls, "usage: ferry ls URL") || strings.Contains(ls, "-segments") || strings.Contains(ls, "-parents") {
			t.Errorf("ferry ls -h shows another command's help:\n%s", ls)
		}
		if !strings.Contains(rm, "-yes") || !strings.Contains(rm, "ferry rm -r --yes") {
			t.Errorf("ferry rm -h lacks --yes:\n%s", rm)
		}
	})
}

// clientNames puts files whose names need escaping in a URL, lists them
// and fetches them back by URL; a raw "#" or "?" or a stray "%" in a URL
// is refused with the escape to use instead of truncating the name.
func clientNames(t *testing.T, c *ferryClient, base, home string) {
	local := t.TempDir()
	names := []string{"a#b.txt", "what?.txt", "100%.txt", "with space.txt", "ünïcödé 日本.txt", "%41.txt"}
	for i, n := range names {
		os.WriteFile(filepath.Join(local, n), []byte(fmt.Sprintf("content %d of %s\n", i, n)), 0o644)
		c.ok("put", filepath.Join(local, n), base+"/names/", "--parents")
	}
	for i, n := range names {
		got, err := os.ReadFile(filepath.Join(home, "names", n))
		if want := fmt.Sprintf("content %d of %s\n", i, n); err != nil || string(got) != want {
			t.Errorf("%q on the server: %q, %v", n, got, err)
		}
	}
	sum := c.summary("ls", base+"/names/")
	listed := map[string]bool{}
	for _, e := range sum.Entries {
		listed[e.Name] = true
	}
	for _, n := range names {
		if !listed[n] {
			t.Errorf("ls does not show %q: %+v", n, sum.Entries)
		}
	}
	for i, n := range names {
		dst := filepath.Join(local, "back", fmt.Sprint(i))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		c.ok("get", base+"/names/"+escapePath(n), dst)
		if got, _ := os.ReadFile(dst); string(got) != fmt.Sprintf("content %d of %s\n", i, n) {
			t.Errorf("get %q: %q", n, got)
		}
	}
	for _, tc := range []struct{ raw, escape string }{
		{base + "/names/a#b.txt", "%23"},
		{base + "/names/what?.txt", "%3F"},
		{base + "/names/100%.txt", "%25"},
	} {
		msg := c.fails(2, "get", tc.raw, filepath.Join(local, "x"))
		if !strings.Contains(msg, tc.escape) {
			t.Errorf("get %s: the refusal does not name %s: %s", tc.raw, tc.escape, msg)
		}
		msg = c.fails(2, "put", filepath.Join(local, "with space.txt"), tc.raw)
		if !strings.Contains(msg, tc.escape) {
			t.Errorf("put %s: the refusal does not name %s: %s", tc.raw, tc.escape, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "names", "a")); !os.IsNotExist(err) {
		t.Errorf("a truncated name reached the server: %v", err)
	}
}

// clientStdio: get URL - writes standard output, put - URL reads standard
// input.
func clientStdio(t *testing.T, c *ferryClient, base, home string) {
	data := testutil.RandomBytes(3<<20+11, 21)
	os.WriteFile(filepath.Join(home, "out.bin"), data, 0o644)
	out, errOut, code := c.run("get", base+"/out.bin", "-")
	if code != 0 || !bytes.Equal([]byte(out), data) {
		t.Fatalf("get - : exit %d, %d bytes on stdout, want %d: %s", code, len(out), len(data), errOut)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("get URL - wrote a file named -")
	}
	cmd := exec.Command(ferryBin, "put", "-", base+"/in.bin")
	cmd.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+filepath.Join(c.home, ".config"), "FERRY_PASSWORD="+c.password, "SSH_AUTH_SOCK=")
	cmd.Stdin = bytes.NewReader(data)
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("put - : %v\n%s", err, o)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "in.bin")); !bytes.Equal(got, data) {
		t.Fatalf("put - stored %d bytes, want %d", len(got), len(data))
	}
	c.fails(2, "put", "-", base+"/")
}

// clientFolders: mkdir -p, rm -r (asks for --yes without a terminal,
// deletes links rather than what they point at), put into a missing
// folder (named) or with --parents.
func clientFolders(t *testing.T, c *ferryClient, base, home string) {
	c.ok("mkdir", "-p", base+"/p/q/r")
	c.ok("mkdir", "-p", base+"/p/q/r")
	if fi, err := os.Stat(filepath.Join(home, "p", "q", "r")); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir -p: %v", err)
	}
	c.fails(6, "mkdir", base+"/p/q")

	keep := filepath.Join(home, "keep")
	os.MkdirAll(keep, 0o755)
	os.WriteFile(filepath.Join(keep, "precious.txt"), []byte("keep me"), 0o644)
	os.WriteFile(filepath.Join(home, "p", "q", "f1"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(home, "p", "q", "r", "f2"), []byte("2"), 0o644)
	os.Symlink("../../keep", filepath.Join(home, "p", "q", "to-keep"))
	os.Symlink("../keep/precious.txt", filepath.Join(home, "p", "file-link"))
	msg := c.fails(2, "rm", "-r", base+"/p")
	if !strings.Contains(msg, "--yes") {
		t.Errorf("rm -r without a terminal: %s", msg)
	}
	c.fails(6, "rm", base+"/p")
	c.ok("rm", "-r", "--yes", base+"/p")
	if _, err := os.Lstat(filepath.Join(home, "p")); !os.IsNotExist(err) {
		t.Fatalf("rm -r left the folder: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(keep, "precious.txt")); err != nil || string(got) != "keep me" {
		t.Fatalf("rm -r followed a link out of the tree: %v", err)
	}

	src := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(src, []byte("doc"), 0o644)
	msg = c.fails(6, "put", src, base+"/no/such/doc.txt")
	if !strings.Contains(msg, "/no/such") || !strings.Contains(msg, "does not exist") || !strings.Contains(msg, "--parents") {
		t.Errorf("put into a missing folder does not name it: %s", msg)
	}
	c.ok("put", "--parents", src, base+"/no/such/doc.txt")
	if got, _ := os.ReadFile(filepath.Join(home, "no", "such", "doc.txt")); string(got) != "doc" {
		t.Fatalf("put --parents: %q", got)
	}
	tree := filepath.Join(t.TempDir(), "tree")
	os.MkdirAll(filepath.Join(tree, "x"), 0o755)
	os.WriteFile(filepath.Join(tree, "x", "y"), []byte("y"), 0o644)
	msg = c.fails(6, "put", "-r", tree, base+"/gone/tree")
	if !strings.Contains(msg, "/gone") || !strings.Contains(msg, "does not exist") {
		t.Errorf("put -r into a missing folder does not name it: %s", msg)
	}
	c.ok("put", "-r", "--parents", tree, base+"/gone/tree")
	if got, _ := os.ReadFile(filepath.Join(home, "gone", "tree", "x", "y")); string(got) != "y" {
		t.Fatalf("put -r --parents: %q", got)
	}
}

// clientLinks: get -r of a tree holding a loop a/b -> .., a link to a file
// (copied as the file) and a dangling link (skipped with a note).
func clientLinks(t *testing.T, c *ferryClient, base, home string) {
	tree := filepath.Join(home, "looped")
	os.MkdirAll(filepath.Join(tree, "a"), 0o755)
	os.WriteFile(filepath.Join(tree, "top.txt"), []byte("top"), 0o644)
	os.WriteFile(filepath.Join(tree, "a", "inner.txt"), []byte("inner"), 0o644)
	os.Symlink("..", filepath.Join(tree, "a", "b"))
	os.Symlink("top.txt", filepath.Join(tree, "alias.txt"))
	os.Symlink("nowhere", filepath.Join(tree, "dangling"))
	dst := filepath.Join(t.TempDir(), "looped")
	notes := c.ok("get", "-r", base+"/looped", dst)
	if !strings.Contains(notes, "loop") || !strings.Contains(notes, "dangling") {
		t.Errorf("no note about the loop or the dangling link:\n%s", notes)
	}
	var got []string
	filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dst {
			rel, _ := filepath.Rel(dst, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{"a", "a/inner.txt", "alias.txt", "top.txt"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("get -r of a tree with a loop made %v, want %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "alias.txt")); string(b) != "top" {
		t.Fatalf("the link to a file was not copied as the file: %q", b)
	}
}

// clientProgress: on a terminal (script(1) gives one) several files draw
// a line each and a total; --json prints a line per file, then the
// summary.
func clientProgress(t *testing.T, c *ferryClient, base, home string) {
	testutil.Need(t, "script")
	for i := range 5 {
		os.MkdirAll(home, 0o755)
		os.WriteFile(filepath.Join(home, fmt.Sprintf("file%d.bin", i)), testutil.RandomBytes(1<<20, uint64(i)), 0o644)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	line := fmt.Sprintf("%s get -r --parallel 3 %s %s", ferryBin, base, dst)
	script := exec.Command("script", "-qec", line, "/dev/null")
	script.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+filepath.Join(c.home, ".config"), "FERRY_PASSWORD="+c.password, "SSH_AUTH_SOCK=")
	out, err := script.CombinedOutput()
	if err != nil {
		t.Fatalf("get -r on a terminal: %v\n%q", err, out)
	}
	for i := range 5 {
		if !strings.Contains(string(out), fmt.Sprintf("file%d.bin", i)) {
			t.Errorf("no progress line for file%d.bin:\n%q", i, out)
		}
	}
	if !strings.Contains(string(out), "5/5 files") || !strings.Contains(string(out), "100%") {
		t.Errorf("no total line:\n%q", out)
	}
	stdout, _, code := c.run("get", "-r", "--json", base, filepath.Join(t.TempDir(), "j"))
	if code != 0 || strings.Count(stdout, `"event":"file"`) != 5 || !strings.Contains(stdout, `"command": "get"`) {
		t.Errorf("--json: exit %d, want a line per file and a summary:\n%s", code, stdout)
	}
}
