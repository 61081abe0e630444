package ftp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core/coretest"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// TestFSReplies: every storage error has its one reply, with no server
// path; escapes and unknown errors are logged.
func TestFSReplies(t *testing.T) {
	var logs testutil.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cn, _, _ := coretest.Conn(t, listen.FTP, store.User{Name: "u", Home: t.TempDir()}, log)
	s := &session{log: log, cn: cn}
	for _, tc := range []struct {
		err  error
		code int
		text string
	}{
		{vfs.ErrReadOnly, 550, "Permission denied: read-only account"},
		{vfs.ErrEscape, 550, "Permission denied: the path leads outside your home directory"},
		{fs.ErrPermission, 550, "Permission denied"},
		{fs.ErrNotExist, 550, "No such file or directory"},
		{fs.ErrExist, 550, "File exists"},
		{vfs.ErrNotEmpty, 550, "Directory not empty"},
		{vfs.ErrIsDir, 550, "Is a directory"},
		{vfs.ErrNotDir, 550, "Not a directory"},
		{vfs.ErrLoop, 550, "Too many levels of symbolic links"},
		{vfs.ErrNameTooLong, 553, "File name too long"},
		{fs.ErrInvalid, 553, "File name not allowed"},
		{vfs.ErrBadOffset, 554, "Restart offset is beyond the end of the file"},
		{vfs.ErrNotSupported, 504, "Not supported by this storage"},
		{vfs.ErrNoSpace, 452, "Insufficient storage space"},
		{vfs.ErrIO, 451, "Local error in processing: storage failure"},
		{errors.New("/srv/ferry/homes/alice: something new"), 451, "Local error in processing"},
	} {
		code, text := s.fsReply(&fs.PathError{Op: "op", Path: "/p", Err: tc.err})
		if code != tc.code || text != tc.text {
			t.Errorf("%v: %d %q, want %d %q", tc.err, code, text, tc.code, tc.text)
		}
	}
	if l := logs.String(); !strings.Contains(l, `event=refused path=/p reason="outside the home"`) || !strings.Contains(l, "something new") {
		t.Errorf("escape and unknown error not logged:\n%s", l)
	}
}

// TestErrorAnswers: the same events as in SFTP and HTTPS, answered from
// the table through the real server.
func TestErrorAnswers(t *testing.T) {
	e := newEnv(t, nil)
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(e.home, "out"))
	os.Symlink("loop-b", filepath.Join(e.home, "loop-a"))
	os.Symlink("loop-a", filepath.Join(e.home, "loop-b"))
	os.WriteFile(filepath.Join(e.home, "f"), []byte("12345"), 0o644)
	c := e.ready()
	c.do("MKD d", 257)
	c.stor("STOR", "d/x", []byte("x"))
	for _, tc := range []struct {
		line string
		code int
		text string
	}{
		{"RMD d", 550, "Directory not empty"},
		{"CWD out", 550, "Permission denied: the path leads outside your home directory"},
		{"SIZE loop-a", 550, "Too many levels of symbolic links"},
		{"MKD " + strings.Repeat("n", 300), 553, "File name too long"},
		{"RNFR " + vfs.TempDir, 550, "Permission denied"},
		{"MKD sub/" + vfs.TempDir, 550, "Permission denied"},
	} {
		if r := c.cmd(tc.line); r.Code != tc.code || r.Text() != tc.text {
			t.Errorf("%.40s: %d %s, want %d %s", tc.line, r.Code, r.Text(), tc.code, tc.text)
		}
	}
	c.do("REST 6", 350)
	c.epsv()
	if r := c.cmd("RETR f"); r.Code != 554 {
		t.Errorf("RETR past the end: %d %s", r.Code, r.Text())
	}
	if !e.waitLog(`event=refused path=/out reason="outside the home"`) {
		t.Error("the escape was not logged")
	}
}

// TestLargeListing lists a directory several listing batches long with
// every listing command, and with STAT on the control connection.
func TestLargeListing(t *testing.T) {
	e := newEnv(t, nil)
	const n = 2*listBatch + 89
	dir := filepath.Join(e.home, "big")
	os.Mkdir(dir, 0o755)
	for i := range n {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%04d", i)), nil, 0o644)
	}
	c := e.ready()
	c.stor("STOR", "big/uploaded", []byte("x")) // TempDir now exists
	c.do("CWD big", 250)
	for _, verb := range []string{"LIST", "NLST", "MLSD"} {
		lines := strings.Split(strings.TrimSuffix(c.list(verb), "\r\n"), "\r\n")
		seen := map[string]bool{}
		for _, l := range lines {
			seen[l[strings.LastIndex(l, " ")+1:]] = true
		}
		if len(lines) != n+1 || len(seen) != n+1 || !seen["file-0000"] || !seen[fmt.Sprintf("file-%04d", n-1)] {
			t.Errorf("%s: %d lines, %d names, want %d", verb, len(lines), len(seen), n+1)
		}
	}
	r := c.do("STAT /big", 213)
	if len(r.Lines) != n+3 || !strings.HasPrefix(r.Lines[0], "Status of /big") || r.Lines[n+2] != "End of status" {
		t.Errorf("STAT: %d lines, first %q, last %q", len(r.Lines), r.Lines[0], r.Lines[len(r.Lines)-1])
	}
	c.do("CWD /", 250)
	if ls := c.list("NLST"); strings.Contains(ls, vfs.TempDir) {
		t.Errorf("the reserved directory is listed: %q", ls)
	}
}

// TestDiskFull fills a small tmpfs over a cleartext (splice) and a TLS
// (buffered) data connection: 452, no server path, nothing published.
func TestDiskFull(t *testing.T) {
	mnt := testutil.Tmpfs(t, "4m")
	for _, secure := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", secure), func(t *testing.T) {
			e := newEnv(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
			home := filepath.Join(mnt, fmt.Sprintf("full-%v", secure))
			e.AddUser(store.User{Name: "full", Home: home})
			c := e.dial()
			if secure {
				c.secure(clientTLS(0))
			}
			c.login("full")
			if secure {
				c.do("PBSZ 0", 200)
				c.do("PROT P", 200)
			}
			d := c.epsv()
			c.do("STOR big.bin", 150)
			var w io.WriteCloser = d
			if secure {
				w = c.protect(d)
			}
			w.Write(randBytes(8 << 20)) // fails when the server gives up
			w.Close()
			r := c.read()
			if r.Code != 452 || r.Text() != "Insufficient storage space" || strings.Contains(r.Text(), mnt) {
				t.Fatalf("STOR onto a full disk: %d %s", r.Code, r.Text())
			}
			if names := testutil.Home(t, home); len(names) != 0 {
				t.Fatalf("a failed upload was published: %v", names)
			}
			if !e.waitLog("result=failed") {
				t.Errorf("the failed upload was not logged as failed:\n%s", e.Logs)
			}
		})
	}
}
