package e2e

// ferry mirror over every scheme against `ferry serve`: up and down, with
// --delete, each twice (the second run copies nothing), and --dry-run.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

type mirrorSummary struct {
	OK      bool `json:"ok"`
	Actions []struct {
		Op, Path, Reason string
	} `json:"actions"`
	Files []struct {
		Remote      string `json:"remote"`
		Transferred int64  `json:"transferred"`
	} `json:"files"`
}

// mirror runs ferry mirror --json and returns its summary (the last JSON
// value on standard output).
func (c *ferryClient) mirror(args ...string) mirrorSummary {
	c.t.Helper()
	out, errOut, code := c.run(append([]string{"mirror", "--json"}, args...)...)
	var s mirrorSummary
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		s = mirrorSummary{}
		if err := dec.Decode(&s); err != nil {
			c.t.Fatalf("ferry mirror %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
	}
	if code != 0 || !s.OK {
		c.t.Fatalf("ferry mirror %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return s
}

// treeOf lists a local tree as "path=content" (folders end in "/").
func treeOf(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			lines = append(lines, filepath.ToSlash(rel)+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		if len(b) > 40 {
			b = fmt.Appendf(nil, "%d bytes, sha256 %x", len(b), sha256.Sum256(b))
		}
		lines = append(lines, filepath.ToSlash(rel)+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClientMirror(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-mirror-pw"
	home := s.addUser("hank", pw)
	s.start()
	schemes := append(clientSchemes(s), struct {
		scheme string
		port   int
	}{"ftp", s.Cfg.FTP.Port}, struct {
		scheme string
		port   int
	}{"http", s.Cfg.HTTP.Port})
	for _, sc := range schemes {
		t.Run(sc.scheme, func(t *testing.T) {
			t.Parallel()
			c := newFerryClient(t, pw)
			url := fmt.Sprintf("%s://hank@%s/m-%s", sc.scheme, s.addr(sc.port), sc.scheme)
			remote := filepath.Join(home, "m-"+sc.scheme)
			local := filepath.Join(t.TempDir(), "src")
			writeTree(t, local, map[string]string{
				"a.txt": "alpha", "d/b.bin": string(bytes.Repeat([]byte("b"), 300000)), "d/e/c.txt": "gamma", "z/": "",
			})

			// Up, into a folder the server does not have yet; then again.
			s1 := c.mirror(local, url)
			if len(s1.Files) != 3 || treeOf(t, remote) != treeOf(t, local) {
				t.Fatalf("first mirror up: %+v\nserver:\n%s\nlocal:\n%s", s1, treeOf(t, remote), treeOf(t, local))
			}
			if s2 := c.mirror(local, url); len(s2.Files) != 0 || len(s2.Actions) != 0 {
				t.Fatalf("second mirror up copied again: %+v", s2)
			}

			// Changes on both sides; --delete removes the server's extras.
			writeTree(t, local, map[string]string{"a.txt": "alpha, longer now", "n.txt": "new"})
			os.Remove(filepath.Join(local, "d", "e", "c.txt"))
			writeTree(t, remote, map[string]string{"x.extra": "extra", "old/deep.txt": "deep"})
			dry := c.mirror(local, url, "--delete", "--dry-run")
			if len(dry.Files) != 0 || len(dry.Actions) != 5 {
				t.Fatalf("dry run: %+v", dry)
			}
			if _, err := os.Stat(filepath.Join(remote, "x.extra")); err != nil {
				t.Fatalf("--dry-run changed the server: %v", err)
			}
			s3 := c.mirror(local, url, "--delete")
			if len(s3.Files) != 2 || treeOf(t, remote) != treeOf(t, local) {
				t.Fatalf("mirror up --delete: %+v\nserver:\n%s\nlocal:\n%s", s3, treeOf(t, remote), treeOf(t, local))
			}
			if s4 := c.mirror(local, url, "--delete"); len(s4.Files) != 0 || len(s4.Actions) != 0 {
				t.Fatalf("second mirror up --delete did something: %+v", s4)
			}

			// Down into a new folder, again, then changes and --delete.
			down := filepath.Join(t.TempDir(), "down")
			if d1 := c.mirror(url, down); len(d1.Files) != 3 || treeOf(t, down) != treeOf(t, remote) {
				t.Fatalf("mirror down: %+v\nlocal:\n%s\nserver:\n%s", d1, treeOf(t, down), treeOf(t, remote))
			}
			if d2 := c.mirror(url, down); len(d2.Files) != 0 || len(d2.Actions) != 0 {
				t.Fatalf("second mirror down copied again: %+v", d2)
			}
			writeTree(t, remote, map[string]string{"d/b.bin": "b changed", "q/r.txt": "r"})
			os.Remove(filepath.Join(remote, "n.txt"))
			writeTree(t, down, map[string]string{"local-only/x": "x"})
			if d3 := c.mirror(url, down, "--delete"); len(d3.Files) != 2 || treeOf(t, down) != treeOf(t, remote) {
				t.Fatalf("mirror down --delete: %+v\nlocal:\n%s\nserver:\n%s", d3, treeOf(t, down), treeOf(t, remote))
			}
			if d4 := c.mirror(url, down, "--delete"); len(d4.Files) != 0 || len(d4.Actions) != 0 {
				t.Fatalf("second mirror down --delete did something: %+v", d4)
			}
		})
	}
}

// TestClientMirrorChecksum: a file rewritten with the same size and time
// is seen only by --checksum, up and down, over every scheme ferry offers
// hashes on (FTP HASH, SFTP exec sha256sum, HTTPS Repr-Digest).
func TestClientMirrorChecksum(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-mirror-sum-pw"
	home := s.addUser("ivy", pw)
	s.start()
	schemes := append(clientSchemes(s), struct {
		scheme string
		port   int
	}{"ftp", s.Cfg.FTP.Port})
	// flip rewrites a file with other bytes of the same length and gives
	// it back its modification time.
	flip := func(t *testing.T, p string) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		for i := range b {
			b[i] ^= 0x20
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	for _, sc := range schemes {
		t.Run(sc.scheme, func(t *testing.T) {
			t.Parallel()
			c := newFerryClient(t, pw)
			url := fmt.Sprintf("%s://ivy@%s/sum-%s", sc.scheme, s.addr(sc.port), sc.scheme)
			remote := filepath.Join(home, "sum-"+sc.scheme)
			local := filepath.Join(t.TempDir(), "src")
			writeTree(t, local, map[string]string{"same.txt": "unchanged", "a b.txt": "spaced name", "d/big.bin": string(bytes.Repeat([]byte("q"), 200000))})
			if s1 := c.mirror(local, url, "--checksum"); len(s1.Files) != 3 {
				t.Fatalf("first mirror up: %+v", s1)
			}
			// The server's copies change behind the mirror's back. Over
			// HTTPS the server keeps upload times: give the server's copy
			// the local time so that the time rule sees nothing new.
			for _, n := range []string{"a b.txt", "d/big.bin"} {
				p := filepath.Join(remote, filepath.FromSlash(n))
				flip(t, p)
				fi, _ := os.Stat(filepath.Join(local, filepath.FromSlash(n)))
				os.Chtimes(p, fi.ModTime(), fi.ModTime())
			}
			if s2 := c.mirror(local, url); len(s2.Actions) != 0 {
				t.Fatalf("size and time saw the change: %+v", s2)
			}
			s3 := c.mirror(local, url, "--checksum")
			if len(s3.Files) != 2 || s3.Actions[0].Reason != "checksum" || treeOf(t, remote) != treeOf(t, local) {
				t.Fatalf("mirror up --checksum: %+v\nserver:\n%s\nlocal:\n%s", s3, treeOf(t, remote), treeOf(t, local))
			}
			if s4 := c.mirror(local, url, "--checksum"); len(s4.Actions) != 0 {
				t.Fatalf("second mirror up --checksum did something: %+v", s4)
			}

			down := filepath.Join(t.TempDir(), "down")
			if d1 := c.mirror(url, down, "--checksum"); len(d1.Files) != 3 || treeOf(t, down) != treeOf(t, remote) {
				t.Fatalf("mirror down: %+v", d1)
			}
			flip(t, filepath.Join(down, "same.txt"))
			if d2 := c.mirror(url, down); len(d2.Actions) != 0 {
				t.Fatalf("size and time saw the change: %+v", d2)
			}
			d3 := c.mirror(url, down, "--checksum", "--delete")
			if len(d3.Files) != 1 || d3.Actions[0].Reason != "checksum" || treeOf(t, down) != treeOf(t, remote) {
				t.Fatalf("mirror down --checksum: %+v\nlocal:\n%s\nserver:\n%s", d3, treeOf(t, down), treeOf(t, remote))
			}
			if d4 := c.mirror(url, down, "--checksum"); len(d4.Actions) != 0 {
				t.Fatalf("second mirror down --checksum did something: %+v", d4)
			}
		})
	}
}
