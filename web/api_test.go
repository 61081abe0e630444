package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
)

func TestVirtualPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"", "/", false},
		{"/", "/", false},
		{"/a/b.txt", "/a/b.txt", false},
		{"//a//b/", "/a/b", false},
		{"/a%20b/%C3%A9", "/a b/é", false},
		{"/a%5Cb", `/a\b`, false},
		{"/..", "", true},
		{"/a/../b", "", true},
		{"/%2e%2e/etc", "", true},
		{"/%2E%2e", "", true},
		{"/.", "", true},
		{"/a%2F..%2Fb", "", true},
		{"/a%2fb", "", true},
		{"/a%00b", "", true},
		{"/a%zz", "", true},
	} {
		got, err := virtualPath(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("virtualPath(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func FuzzVirtualPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/%2e%2e/x", "/a%2Fb", "//", "/%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := virtualPath(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") && p != "/" || strings.ContainsRune(p, 0) {
			t.Fatalf("virtualPath(%q) = %q: not a clean absolute path", in, p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("virtualPath(%q) = %q keeps a dot segment", in, p)
			}
		}
	})
}

func TestTargetPath(t *testing.T) {
	for _, tc := range []struct {
		src, to, want string
		bad           bool
	}{
		{"/a/b.txt", "c.txt", "/a/c.txt", false},
		{"/a/b.txt", "/d/c.txt", "/d/c.txt", false},
		{"/b.txt", "sub/c.txt", "/sub/c.txt", false},
		{"/a/b.txt", "", "", true},
		{"/a/b.txt", "../c.txt", "", true},
		{"/a/b.txt", "/../../etc/passwd", "", true},
		{"/a/b.txt", "x/./y", "", true},
	} {
		got, err := targetPath(tc.src, tc.to)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("targetPath(%q, %q) = %q, %v; want %q, error %v", tc.src, tc.to, got, err, tc.want, tc.bad)
		}
	}
}

func TestAPIFileLifecycle(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("alice", false)
	c := ts.client()
	const u = "alice"
	content := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB

	resp, body := ts.do(c, "PUT", "/api/v1/files/hello.bin", u, bytes.NewReader(content))
	expect(t, "upload new", resp, body, http.StatusCreated)
	if loc := resp.Header.Get("Location"); loc != "/api/v1/files/hello.bin" {
		t.Errorf("Location = %q", loc)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "hello.bin")); !bytes.Equal(got, content) {
		t.Fatalf("file on disk differs from the upload (%d bytes)", len(got))
	}
	resp, body = ts.do(c, "PUT", "/api/v1/files/hello.bin", u, strings.NewReader("short"))
	expect(t, "upload replace", resp, body, http.StatusNoContent)
	if got, _ := os.ReadFile(filepath.Join(home, "hello.bin")); string(got) != "short" {
		t.Fatalf("replaced file holds %q", got)
	}
	ts.do(c, "PUT", "/api/v1/files/hello.bin", u, bytes.NewReader(content))

	resp, body = ts.do(c, "GET", "/api/v1/files/hello.bin", u, nil)
	if expect(t, "download", resp, body, http.StatusOK) != string(content) {
		t.Fatalf("download differs from the upload")
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=hello.bin` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("a download's CSP = %q, want sandbox", csp)
	}
	resp, body = ts.do(c, "HEAD", "/api/v1/files/hello.bin", u, nil)
	if expect(t, "head", resp, body, http.StatusOK) != "" || resp.ContentLength != int64(len(content)) || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("HEAD: length %d, Accept-Ranges %q, body %d bytes", resp.ContentLength, resp.Header.Get("Accept-Ranges"), len(body))
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/hello.bin", u, nil, "Range", "bytes=100-199")
	if expect(t, "range", resp, body, http.StatusPartialContent) != string(content[100:200]) {
		t.Fatalf("range body %q", body)
	}
	if cr := resp.Header.Get("Content-Range"); cr != "bytes 100-199/65536" {
		t.Errorf("Content-Range = %q", cr)
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/hello.bin", u, nil, "Range", "bytes=-10")
	if expect(t, "suffix range", resp, body, http.StatusPartialContent) != string(content[len(content)-10:]) {
		t.Fatalf("suffix range body %q", body)
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/hello.bin", u, nil, "Range", "bytes=70000-")
	expect(t, "unsatisfiable range", resp, body, http.StatusRequestedRangeNotSatisfiable)

	resp, body = ts.do(c, "POST", "/api/v1/files/docs?op=mkdir", u, nil)
	expect(t, "mkdir", resp, body, http.StatusCreated)
	if fi, err := os.Stat(filepath.Join(home, "docs")); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir made no folder: %v", err)
	}
	resp, body = ts.do(c, "POST", "/api/v1/files/docs?op=mkdir", u, nil)
	expect(t, "mkdir again", resp, body, http.StatusConflict)
	resp, body = ts.do(c, "POST", "/api/v1/files/no/such/dir?op=mkdir", u, nil)
	expect(t, "mkdir without parent", resp, body, http.StatusNotFound)

	resp, body = ts.do(c, "POST", "/api/v1/files/hello.bin?op=rename&to=docs/moved.bin", u, nil)
	expect(t, "rename into folder", resp, body, http.StatusNoContent)
	if _, err := os.Stat(filepath.Join(home, "docs", "moved.bin")); err != nil {
		t.Fatalf("renamed file missing: %v", err)
	}
	resp, body = ts.do(c, "POST", "/api/v1/files/docs/moved.bin?op=rename&to=/top.bin", u, nil)
	expect(t, "rename absolute", resp, body, http.StatusNoContent)
	os.WriteFile(filepath.Join(home, "other.bin"), []byte("keep me"), 0o644)
	resp, body = ts.do(c, "POST", "/api/v1/files/top.bin?op=rename&to=other.bin", u, nil)
	expect(t, "rename over existing", resp, body, http.StatusConflict)
	if got, _ := os.ReadFile(filepath.Join(home, "other.bin")); string(got) != "keep me" {
		t.Fatal("a refused rename changed the target")
	}
	resp, body = ts.do(c, "POST", "/api/v1/files/top.bin?op=rename", u, nil)
	expect(t, "rename without to", resp, body, http.StatusBadRequest)
	resp, body = ts.do(c, "POST", "/api/v1/files/top.bin?op=chmod", u, nil)
	expect(t, "unknown op", resp, body, http.StatusBadRequest)

	resp, body = ts.do(c, "GET", "/api/v1/files/", u, nil)
	expect(t, "list", resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("listing Content-Type = %q", ct)
	}
	var l struct {
		Path    string
		Entries []entry
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	got := map[string]entry{}
	for _, e := range l.Entries {
		got[e.Name] = e
	}
	if l.Path != "/" || len(l.Entries) != 3 || got["docs"].Type != "dir" || got["top.bin"].Type != "file" || got["top.bin"].Size != int64(len(content)) {
		t.Fatalf("listing = %+v", l)
	}
	if time.Since(got["top.bin"].Modified) > time.Minute {
		t.Errorf("modified time %v is not recent", got["top.bin"].Modified)
	}

	os.WriteFile(filepath.Join(home, "docs", "inner"), nil, 0o644)
	resp, body = ts.do(c, "DELETE", "/api/v1/files/docs", u, nil)
	expect(t, "delete non-empty folder", resp, body, http.StatusConflict)
	resp, body = ts.do(c, "DELETE", "/api/v1/files/docs/inner", u, nil)
	expect(t, "delete file", resp, body, http.StatusNoContent)
	resp, body = ts.do(c, "DELETE", "/api/v1/files/docs", u, nil)
	expect(t, "delete empty folder", resp, body, http.StatusNoContent)
	resp, body = ts.do(c, "DELETE", "/api/v1/files/docs", u, nil)
	expect(t, "delete missing", resp, body, http.StatusNotFound)
	resp, body = ts.do(c, "GET", "/api/v1/files/nothing.txt", u, nil)
	expect(t, "get missing", resp, body, http.StatusNotFound)
	var e struct{ Error string }
	if json.Unmarshal([]byte(body), &e); e.Error != "no such file or folder: /nothing.txt" {
		t.Errorf("JSON error = %q", body)
	}
	resp, body = ts.do(c, "DELETE", "/api/v1/files/", u, nil)
	expect(t, "delete home", resp, body, http.StatusForbidden)
	resp, body = ts.do(c, "PUT", "/api/v1/files/", u, strings.NewReader("x"))
	expect(t, "upload over home", resp, body, http.StatusConflict)
	resp, body = ts.do(c, "PATCH", "/api/v1/files/top.bin", u, nil)
	expect(t, "unknown method", resp, body, http.StatusMethodNotAllowed)
	resp, body = ts.do(c, "GET", "/api/v1/nope", u, nil)
	expect(t, "unknown endpoint", resp, body, http.StatusNotFound)

	if l := ts.Logs.String(); !regexp.MustCompile(`msg=upload .*service=https .*user=alice event=upload path=/`).MatchString(l) || !strings.Contains(l, "event=rename") {
		t.Errorf("transfers are not logged:\n%s", ts.Logs)
	}
}

func TestAPIAuth(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.Lockout.MaxFailures = 3 })
	ts.addUser("bob", false)
	c := ts.client()

	resp, body := ts.do(c, "GET", "/api/v1/files/", "", nil)
	expect(t, "no credentials", resp, body, http.StatusUnauthorized)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 without a Basic challenge: %v", resp.Header)
	}
	if !strings.HasPrefix(body, `{"error":`) {
		t.Errorf("401 body is not a JSON error: %q", body)
	}

	resp, body = ts.do(c, "POST", "/api/v1/token", "bob", nil)
	expect(t, "token", resp, body, http.StatusOK)
	var tok struct {
		Token   string
		Expires time.Time
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	tok.Token = raw["token"]
	if len(tok.Token) < 40 || raw["token_type"] != "Bearer" {
		t.Fatalf("token response %q", body)
	}
	if tok.Expires, _ = time.Parse(time.RFC3339, raw["expires"]); time.Until(tok.Expires) < time.Hour {
		t.Errorf("token expires %q", raw["expires"])
	}
	bearer := []string{"Authorization", "Bearer " + tok.Token}
	resp, body = ts.do(c, "PUT", "/api/v1/files/t.txt", "", strings.NewReader("by token"), bearer...)
	expect(t, "upload with token", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "GET", "/api/v1/files/t.txt", "", nil, bearer...)
	if expect(t, "download with token", resp, body, http.StatusOK) != "by token" {
		t.Fatalf("body %q", body)
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/", "", nil, "Authorization", "Bearer forged")
	expect(t, "forged token", resp, body, http.StatusUnauthorized)
	resp, body = ts.do(c, "POST", "/api/v1/token", "", nil, bearer...)
	expect(t, "token from a token", resp, body, http.StatusUnauthorized)
	resp, body = ts.do(c, "DELETE", "/api/v1/token", "", nil, bearer...)
	expect(t, "revoke token", resp, body, http.StatusNoContent)
	resp, body = ts.do(c, "GET", "/api/v1/files/", "", nil, bearer...)
	expect(t, "revoked token", resp, body, http.StatusUnauthorized)

	resp, body = ts.do(c, "GET", "/api/v1/files/", "", nil, "Authorization", "Digest foo")
	expect(t, "unknown scheme", resp, body, http.StatusUnauthorized)

	// Wrong passwords count toward the per-IP lockout; once locked, even
	// the right password is refused with 429.
	for i := range 3 {
		req, _ := http.NewRequest("GET", ts.base+"/api/v1/files/", nil)
		req.SetBasicAuth("bob", "wrong")
		r, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d", i, r.StatusCode)
		}
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/", "bob", nil)
	expect(t, "locked out", resp, body, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}
