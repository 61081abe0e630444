package web

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// writeTree writes n files spread over nested folders under dir and
// returns their relative paths and contents.
func writeTree(t *testing.T, dir string, n int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i := range n {
		rel := filepath.Join(fmt.Sprintf("d%d", i%7), fmt.Sprintf("e%d", i%3), fmt.Sprintf("file %d.bin", i))
		body := testutil.RandomBytes(i*97%20000, uint64(i))
		if i == 0 {
			body = testutil.RandomBytes(3<<20, 1) // several of Transfer's buffers
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), body, 0o644); err != nil {
			t.Fatal(err)
		}
		files[rel] = body
	}
	return files
}

// sameTree checks that dir holds exactly files.
func sameTree(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		want, ok := files[rel]
		if !ok {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from the %d sent", rel, len(got), len(want))
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(files) {
		t.Errorf("%s holds %d files, want %d", dir, seen, len(files))
	}
}

// TestDAVRclone copies a tree of 200 files up and back with rclone's
// webdav backend, checks it with a download of every file, and purges it.
func TestDAVRclone(t *testing.T) {
	testutil.Need(t, "rclone")
	// The default lockout (10): each new connection checks the password
	// once, and checks in flight count against the lockout until they end
	// (auth.Lockout.begin), so a client may open fewer connections at once
	// than lockout.max_failures: 4 checkers and 4 transfers here.
	// rclone's burst of connections (check --download opens new ones while
	// the closed ones are still counted) passes the default per-address
	// budget of 20 now and then: "too many connections from your address".
	ts := startServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 10
		c.Limits.MaxConnectionsPerIP, c.Limits.MaxPreloginPerIP = 50, 50
	})
	home := ts.addUser("alice", false)
	obscured, err := exec.Command("rclone", "obscure", testserver.Password).Output()
	if err != nil {
		t.Fatal(err)
	}
	remote := fmt.Sprintf(":webdav,url='%s/dav/',vendor=other,user=alice,pass='%s':", ts.base, strings.TrimSpace(string(obscured)))
	rclone := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("rclone", append([]string{"--config", "/dev/null", "--no-check-certificate", "--retries", "1", "--low-level-retries", "1", "--checkers", "4", "--transfers", "4"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	src := t.TempDir()
	files := writeTree(t, src, 200)
	rclone("copy", src, remote+"tree")
	sameTree(t, filepath.Join(home, "tree"), files)
	back := t.TempDir()
	rclone("copy", remote+"tree", back)
	sameTree(t, back, files)
	out := rclone("check", "--download", src, remote+"tree")
	if !strings.Contains(out, "0 differences found") || !strings.Contains(out, "200 matching files") {
		t.Errorf("rclone check:\n%s", out)
	}
	rclone("moveto", remote+"tree/d1/e1/file 1.bin", remote+"moved.bin")
	if got, _ := os.ReadFile(filepath.Join(home, "moved.bin")); !bytes.Equal(got, files[filepath.Join("d1", "e1", "file 1.bin")]) {
		t.Error("moveto: moved.bin is not the file moved")
	}
	rclone("purge", remote+"tree")
	if names := testutil.Home(t, home); len(names) != 1 || names[0] != "moved.bin" {
		t.Errorf("home after purge: %v, want [moved.bin]", names)
	}
	logs := ts.Logs.String()
	for _, want := range []string{"event=upload path=\"/tree/d0/e0/file 0.bin\" bytes=3145728", "event=download", "event=rename", "event=rmdir", "via=webdav"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestDAVAnswers checks WebDAV's answers that come from ferry rather than
// the library: authentication, the lockout, read-only accounts, escapes,
// and locks guarding a PUT.
func TestDAVAnswers(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("alice", false)
	ts.addUser("reader", true)
	c := ts.client()

	resp, body := ts.do(c, "PROPFIND", "/dav/", "", nil, "Depth", "1")
	expect(t, "PROPFIND without credentials", resp, body, http.StatusUnauthorized)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 without a Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}

	resp, body = ts.do(c, "PUT", "/dav/a.txt", "alice", strings.NewReader("hello"))
	expect(t, "PUT", resp, body, http.StatusCreated)
	if b, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(b) != "hello" {
		t.Fatalf("a.txt holds %q", b)
	}
	resp, body = ts.do(c, "PROPFIND", "/dav/", "alice", nil, "Depth", "1")
	expect(t, "PROPFIND", resp, body, http.StatusMultiStatus)
	if !strings.Contains(body, "<D:href>/dav/a.txt</D:href>") || !strings.Contains(body, "<D:getcontentlength>5</D:getcontentlength>") {
		t.Errorf("PROPFIND lacks a.txt:\n%s", body)
	}
	tok := ts.token(c, "alice")
	resp, body = ts.do(c, "GET", "/dav/a.txt", "", nil, "Authorization", "Bearer "+tok)
	if expect(t, "GET with a token", resp, body, http.StatusOK) != "hello" {
		t.Errorf("GET: %q", body)
	}

	resp, body = ts.do(c, "PUT", "/dav/r.txt", "reader", strings.NewReader("x"))
	expect(t, "PUT as read-only", resp, body, http.StatusForbidden)
	resp, body = ts.do(c, "MKCOL", "/dav/r", "reader", nil)
	expect(t, "MKCOL as read-only", resp, body, http.StatusForbidden)

	resp, body = ts.do(c, "PROPFIND", ts.base+"/dav/%2e%2e/", "alice", nil, "Depth", "0")
	expect(t, "PROPFIND above the home", resp, body, http.StatusForbidden)
	if !strings.Contains(ts.Logs.String(), "event=refused") {
		t.Error("an escape was not logged as refused")
	}

	lock := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	resp, body = ts.do(c, "LOCK", "/dav/a.txt", "alice", strings.NewReader(lock), "Timeout", "Second-60")
	expect(t, "LOCK", resp, body, http.StatusOK)
	token := resp.Header.Get("Lock-Token")
	resp, body = ts.do(c, "PUT", "/dav/a.txt", "alice", strings.NewReader("other"))
	expect(t, "PUT without the lock token", resp, body, http.StatusLocked)
	resp, body = ts.do(c, "PUT", "/dav/a.txt", "alice", strings.NewReader("mine"), "If", "("+token+")")
	expect(t, "PUT with the lock token", resp, body, http.StatusCreated)
	if b, _ := os.ReadFile(filepath.Join(home, "a.txt")); string(b) != "mine" {
		t.Errorf("a.txt holds %q after the locked PUT", b)
	}

	for range ts.Config.Lockout.MaxFailures {
		req, _ := http.NewRequest("PROPFIND", ts.base+"/dav/", nil)
		req.SetBasicAuth("alice", "wrong")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, body = ts.do(c, "PROPFIND", "/dav/", "alice", nil, "Depth", "0")
	expect(t, "PROPFIND after the lockout", resp, body, http.StatusTooManyRequests)
}
