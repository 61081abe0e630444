package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/core/coretest"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// TestFSStatuses: every storage error has its one answer, with no server
// path; escapes and unknown errors are logged.
func TestFSStatuses(t *testing.T) {
	var logs testutil.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := &Server{log: log}
	cn, _, _ := coretest.Conn(t, listen.HTTPS, store.User{Name: "u", Home: t.TempDir()}, log)
	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{vfs.ErrReadOnly, 403, "read-only account: /p"},
		{vfs.ErrEscape, 403, "permission denied: /p"},
		{fs.ErrPermission, 403, "permission denied: /p"},
		{fs.ErrNotExist, 404, "no such file or folder: /p"},
		{fs.ErrExist, 409, "already exists: /p"},
		{vfs.ErrNotEmpty, 409, "Directory not empty: /p"},
		{vfs.ErrIsDir, 409, "is a directory: /p"},
		{vfs.ErrNotDir, 409, "not a directory: /p"},
		{vfs.ErrLoop, 400, "too many levels of symbolic links: /p"},
		{vfs.ErrNameTooLong, 414, "name too long: /p"},
		{fs.ErrInvalid, 409, "not possible on this kind of entry: /p"},
		{vfs.ErrBadOffset, 416, "offset beyond the end of the file: /p"},
		{vfs.ErrNotSupported, 501, "not supported by this storage: /p"},
		{vfs.ErrNoSpace, 507, "insufficient storage: /p"},
		{vfs.ErrIO, 500, "storage failure: /p"},
		{errors.New("/srv/ferry/homes/u: something new"), 500, "internal error: /p"},
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/api/v1/files/p", nil)
		rq := &request{s: s, w: rec, r: r.WithContext(context.WithValue(r.Context(), connKey{}, cn))}
		rq.fsError("/p", &fs.PathError{Op: "op", Path: "/p", Err: tc.err})
		var body struct{ Error string }
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body.Error != tc.msg {
			t.Errorf("%v: %d %q, want %d %q", tc.err, rec.Code, body.Error, tc.status, tc.msg)
		}
	}
	if l := logs.String(); !strings.Contains(l, `event=refused path=/p reason="outside the home"`) || !strings.Contains(l, "something new") {
		t.Errorf("escape and unknown error not logged:\n%s", l)
	}
}

// TestErrorAnswers: the same events as in FTP and SFTP, through the real
// server.
func TestErrorAnswers(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("una", false)
	os.MkdirAll(filepath.Join(home, "d"), 0o755)
	os.WriteFile(filepath.Join(home, "d", "x"), nil, 0o644)
	os.Symlink("loop-b", filepath.Join(home, "loop-a"))
	os.Symlink("loop-a", filepath.Join(home, "loop-b"))
	c := ts.client()
	for _, tc := range []struct {
		method, path string
		status       int
		msg          string
	}{
		{"DELETE", "/api/v1/files/d", 409, "Directory not empty: /d"},
		{"GET", "/api/v1/files/loop-a", 400, "too many levels of symbolic links: /loop-a"},
		{"POST", "/api/v1/files/" + strings.Repeat("n", 300) + "?op=mkdir", 414, "name too long: /" + strings.Repeat("n", 300)},
		{"GET", "/api/v1/files/" + vfs.TempDir, 403, "permission denied: /" + vfs.TempDir},
	} {
		resp, body := ts.do(c, tc.method, tc.path, "una", nil)
		var e struct{ Error string }
		json.Unmarshal([]byte(body), &e)
		if resp.StatusCode != tc.status || e.Error != tc.msg {
			t.Errorf("%s %.40s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, e.Error, tc.status, tc.msg)
		}
	}
}

// TestLargeListing lists a folder several listing batches long; the
// reserved directory is never listed.
func TestLargeListing(t *testing.T) {
	ts := startServer(t, nil)
	home := ts.addUser("lea", false)
	const n = 2*listBatch + 31
	os.Mkdir(filepath.Join(home, "big"), 0o755)
	for i := range n {
		os.WriteFile(filepath.Join(home, "big", fmt.Sprintf("f%04d", i)), nil, 0o644)
	}
	c := ts.client()
	resp, body := ts.do(c, "PUT", "/api/v1/files/up.txt", "lea", strings.NewReader("x")) // makes the reserved directory
	expect(t, "upload", resp, body, http.StatusCreated)
	for _, tc := range []struct {
		path string
		n    int
	}{{"/api/v1/files/big", n}, {"/api/v1/files/", 2}} {
		resp, body := ts.do(c, "GET", tc.path, "lea", nil)
		expect(t, "list", resp, body, http.StatusOK)
		var l struct {
			Path     string
			ReadOnly bool `json:"read_only"`
			Entries  []entry
		}
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		seen := map[string]bool{}
		for _, e := range l.Entries {
			seen[e.Name] = true
		}
		if len(l.Entries) != tc.n || len(seen) != tc.n || seen[vfs.TempDir] {
			t.Errorf("%s: %d entries, %d names, want %d", tc.path, len(l.Entries), len(seen), tc.n)
		}
	}
}

// TestDiskFull fills a small tmpfs: 507, no server path, nothing
// published.
func TestDiskFull(t *testing.T) {
	mnt := testutil.Tmpfs(t, "4m")
	ts := startServer(t, nil)
	home := filepath.Join(mnt, "home")
	ts.AddUser(store.User{Name: "full", Home: home})
	resp, body := ts.do(ts.client(), "PUT", "/api/v1/files/big.bin", "full", bytes.NewReader(make([]byte, 8<<20)))
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != http.StatusInsufficientStorage || e.Error != "insufficient storage: /big.bin" || strings.Contains(body, mnt) {
		t.Fatalf("PUT onto a full disk: %d %s", resp.StatusCode, body)
	}
	if names := testutil.Home(t, home); len(names) != 0 {
		t.Fatalf("a failed upload was published: %v", names)
	}
}

// TestBatchContext: a request on an HTTPS connection finds the BatchConn
// that ServeHTTPS puts under the admission wrapper and TLS (core.BatchListener
// inside admitting), so its download's records are batched.
func TestBatchContext(t *testing.T) {
	c, _ := net.Pipe()
	bc := &core.BatchConn{Conn: c}
	ctx := batchContext(context.Background(), tls.Server(&admittedConn{Conn: bc}, &tls.Config{}))
	if got, _ := ctx.Value(batchKey{}).(*core.BatchConn); got != bc {
		t.Fatal("the BatchConn under the TLS connection is not in the request context")
	}
	if _, ok := ctx.Value(connKey{}).(*core.Conn); !ok {
		t.Fatal("withConn's core.Conn is missing from the request context")
	}
}
