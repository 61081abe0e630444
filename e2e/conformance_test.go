package e2e

// The cross-protocol conformance suite: one table of scenarios, run over
// explicit FTPS, implicit FTPS, SFTP and HTTPS through client.Conn, each
// asserting the same outcome in every protocol.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/client"
	"github.com/ferry-project/ferry/client/ftpc"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/vfs"
)

// confProto is one protocol of the suite: the client's URL scheme and the
// service= its server log lines carry, the listener's name in the plan.
type confProto struct{ scheme, service string }

var confProtos = []confProto{
	{"ftpes", string(listen.FTP)},
	{"ftps", string(listen.FTPImplicit)},
	{"sftp", string(listen.SFTP)},
	{"https", string(listen.HTTPS)},
}

const confPass = "conformance-pw"

// confEnv is the server the scenarios share: alice may write, rob is
// read-only, outside is a folder in no user's home.
type confEnv struct {
	s            *server
	home, roHome string
	outside      string
	secret       []byte // outside/secret.txt
}

// conn logs in as user over p; the test fails when it cannot.
func (e *confEnv) conn(t *testing.T, p confProto, user string) client.Conn {
	t.Helper()
	c, err := e.s.dial(p.scheme, user, confPass, 10*time.Second)
	if err != nil {
		t.Fatalf("%s login as %s: %v", p.scheme, user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// errKind sorts a client error into the kinds the suite compares across
// protocols: permission, notfound, notempty, or "other: MESSAGE".
//
// The client package itself has one kind for every refusal
// (client.ErrRemote), so these are read from each protocol's own answer:
// FTP's reply text, SFTP's status (pkg/sftp turns PERMISSION_DENIED and
// NO_SUCH_FILE into fs.ErrPermission and fs.ErrNotExist, and sends other
// failures as SSH_FX_FAILURE with the server's text), the REST API's status.
func errKind(err error) string {
	if err == nil {
		return "ok"
	}
	msg := strings.ToLower(err.Error())
	status := httpStatus(err)
	ftp := ftpc.Code(err)
	switch {
	case errors.Is(err, fs.ErrPermission), status == 403, ftp >= 500 && strings.Contains(msg, "permission denied"):
		return "permission"
	case errors.Is(err, fs.ErrNotExist), status == 404, ftp >= 500 && strings.Contains(msg, "no such file"):
		return "notfound"
	case strings.Contains(msg, "not empty") && (status == 409 || status == 0):
		return "notempty"
	}
	return "other: " + err.Error()
}

var httpStatusRe = regexp.MustCompile(`^http: [A-Z]+ .*?: ([1-5][0-9][0-9]) `)

// httpStatus is the status in a REST API error of the client, or 0.
func httpStatus(err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		if m := httpStatusRe.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			return n
		}
	}
	return 0
}

// upload writes data to p through c and returns every error on the way
// (Create, Write, Close).
func upload(c client.Conn, p string, data []byte) error {
	w, err := c.Create(p, 0)
	if err != nil {
		return err
	}
	_, werr := w.Write(data)
	return errors.Join(werr, w.Close())
}

// download reads p from offset on.
func download(c client.Conn, p string, offset int64) ([]byte, error) {
	r, err := c.Open(p, offset)
	if err != nil {
		return nil, err
	}
	b, rerr := io.ReadAll(r)
	return b, errors.Join(rerr, r.Close())
}

// wantKind checks the kind of err.
func wantKind(t *testing.T, p confProto, what string, err error, kind string) {
	t.Helper()
	if got := errKind(err); got != kind {
		t.Errorf("%s over %s: got %s, want a %s error", what, p.scheme, got, kind)
	}
}

// logLines parses the server's JSON log.
func (s *server) logLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.Logs(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// logsFor waits up to wait for a log line that match accepts, lets the
// log settle, and returns every such line.
func (s *server) logsFor(wait time.Duration, match func(map[string]any) bool) []map[string]any {
	find := func() []map[string]any {
		var out []map[string]any
		for _, l := range s.logLines() {
			if match(l) {
				out = append(out, l)
			}
		}
		return out
	}
	deadline := time.Now().Add(wait)
	for len(find()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	return find()
}

func str(l map[string]any, k string) string { v, _ := l[k].(string); return v }

// isTransfer tells an upload or download line: every protocol logs file
// operations with one vocabulary, event=upload|download|mkdir|rmdir|
// delete|rename|refused (package core).
func isTransfer(l map[string]any, upload bool) bool {
	if upload {
		return str(l, "event") == "upload"
	}
	return str(l, "event") == "download"
}

// checkLogLine checks that a line carries the user, the protocol and the
// path.
func checkLogLine(t *testing.T, p confProto, what string, l map[string]any, user, vpath string) {
	t.Helper()
	if str(l, "user") != user || str(l, "service") != p.service || str(l, "path") != vpath {
		t.Errorf("log line for %s over %s lacks user=%s service=%s path=%s: %v", what, p.scheme, user, p.service, vpath, l)
	}
}

// wantOneTransferLog asserts exactly one log line of the given direction
// for vpath.
func wantOneTransferLog(t *testing.T, e *confEnv, p confProto, user, vpath string, upload bool) {
	t.Helper()
	what := "the download of " + vpath
	if upload {
		what = "the upload of " + vpath
	}
	// A download's line may follow the last byte the client reads.
	lines := e.s.logsFor(time.Second, func(l map[string]any) bool {
		return str(l, "path") == vpath && isTransfer(l, upload)
	})
	if len(lines) != 1 {
		t.Errorf("want exactly one event=%s log line for %s over %s, got %d; the lines with path=%s: %v", map[bool]string{true: "upload", false: "download"}[upload],
			what, p.scheme, len(lines), vpath, e.s.logsFor(0, func(l map[string]any) bool { return str(l, "path") == vpath }))
		return
	}
	checkLogLine(t, p, what, lines[0], user, vpath)
}

// refusalLogWait is how long a line about an operation may follow the
// reply: the server logs before it answers, so briefly.
const refusalLogWait = 300 * time.Millisecond

// wantOneOpLog asserts exactly one event=kind log line for an operation
// on a path that only it touches, carrying user, protocol and path (and
// for a rename the new path as target). The operation's reply has
// arrived, and the server logs before it replies.
func wantOneOpLog(t *testing.T, e *confEnv, p confProto, kind, user, vpath, target string) {
	t.Helper()
	lines := e.s.logsFor(0, func(l map[string]any) bool { return str(l, "path") == vpath && str(l, "event") == kind })
	if len(lines) != 1 {
		t.Errorf("want exactly one event=%s log line for %s over %s, got %d; the lines with path=%s: %v",
			kind, vpath, p.scheme, len(lines), vpath, e.s.logsFor(0, func(l map[string]any) bool { return str(l, "path") == vpath }))
		return
	}
	checkLogLine(t, p, kind+" of "+vpath, lines[0], user, vpath)
	if target != "" && str(lines[0], "target") != target {
		t.Errorf("log line for %s of %s over %s lacks target=%s: %v", kind, vpath, p.scheme, target, lines[0])
	}
}

// scenario is one row of the table; dir is a folder of its own in alice's
// home (and in rob's), "/SCENARIO-SCHEME".
type scenario struct {
	name string
	run  func(t *testing.T, e *confEnv, p confProto, dir string)
}

var scenarios = []scenario{
	{"RoundTrip", confRoundTrip},
	{"Operations", confOperations},
	{"EventLog", confEventLog},
	{"ReadOnly", confReadOnly},
	{"NotFound", confNotFound},
	{"ResumeDownload", confResumeDownload},
	{"ResumeUpload", confResumeUpload},
	{"EscapeDotDot", confEscapeDotDot},
	{"EscapeSymlink", confEscapeSymlink},
	{"RemoveNonEmpty", confRemoveNonEmpty},
	{"Unicode", confUnicode},
}

// TestConformance runs every scenario over every protocol against one
// server (JSON log, so that lines can be checked field by field).
func TestConformance(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.LogFormat = "json" })
	e := &confEnv{s: s, outside: t.TempDir(), secret: []byte("TOP SECRET, outside every home\n")}
	e.home = s.addUser("alice", confPass)
	e.roHome = s.addUser("rob", confPass, "--read-only")
	if err := os.WriteFile(filepath.Join(e.outside, "secret.txt"), e.secret, 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, p := range confProtos {
				t.Run(p.scheme, func(t *testing.T) {
					dir := "/" + sc.name + "-" + p.scheme
					for _, h := range []string{e.home, e.roHome} {
						if err := os.MkdirAll(filepath.Join(h, dir), 0o755); err != nil {
							t.Fatal(err)
						}
					}
					sc.run(t, e, p, dir)
				})
			}
		})
	}
}

// onDisk is the host path of a virtual path in a home.
func onDisk(home, vpath string) string { return filepath.Join(home, filepath.FromSlash(vpath)) }

func confRoundTrip(t *testing.T, e *confEnv, p confProto, dir string) {
	c := e.conn(t, p, "alice")
	data := testutil.RandomBytes(1<<20+3, 31)
	f := dir + "/file.bin"
	if err := upload(c, f, data); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got, err := os.ReadFile(onDisk(e.home, f)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded file on disk: %d bytes (%v), want the %d sent", len(got), err, len(data))
	}
	got, err := download(c, f, 0)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes (%v), want the %d uploaded", len(got), err, len(data))
	}
	es, err := c.List(dir)
	if err != nil || len(es) != 1 || es[0].Name != "file.bin" || es[0].Size != int64(len(data)) || es[0].Dir {
		t.Fatalf("list %s: %+v (%v), want file.bin of %d bytes", dir, es, err, len(data))
	}
	if st, err := c.Stat(f); err != nil || st.Size != int64(len(data)) || st.Dir {
		t.Fatalf("stat %s: %+v (%v)", f, st, err)
	}
}

// fileOps runs mkdir, rename, delete and rmdir, each on a path of its own
// in dir, and checks each on disk.
func fileOps(t *testing.T, e *confEnv, c client.Conn, dir string) {
	t.Helper()
	for _, n := range []string{"del.bin", "from.bin"} {
		os.WriteFile(onDisk(e.home, dir+"/"+n), []byte(n), 0o644)
	}
	os.Mkdir(onDisk(e.home, dir+"/gone"), 0o755)
	if err := c.Mkdir(dir + "/made"); err != nil {
		t.Errorf("mkdir: %v", err)
	} else if fi, err := os.Stat(onDisk(e.home, dir+"/made")); err != nil || !fi.IsDir() {
		t.Errorf("mkdir did not create the folder: %v", err)
	}
	if err := c.Rename(dir+"/from.bin", dir+"/to.bin"); err != nil {
		t.Errorf("rename: %v", err)
	} else if b, _ := os.ReadFile(onDisk(e.home, dir+"/to.bin")); string(b) != "from.bin" {
		t.Errorf("rename: the file did not move")
	}
	if err := c.Remove(dir + "/del.bin"); err != nil {
		t.Errorf("delete: %v", err)
	} else if _, err := os.Lstat(onDisk(e.home, dir+"/del.bin")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("delete: the file is still there (%v)", err)
	}
	if err := c.RemoveDir(dir + "/gone"); err != nil {
		t.Errorf("rmdir: %v", err)
	} else if _, err := os.Lstat(onDisk(e.home, dir+"/gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rmdir: the folder is still there (%v)", err)
	}
}

func confOperations(t *testing.T, e *confEnv, p confProto, dir string) {
	fileOps(t, e, e.conn(t, p, "alice"), dir)
}

// confEventLog checks the server's record of each file operation: one
// line, with the event's kind, the user, the protocol and the path.
func confEventLog(t *testing.T, e *confEnv, p confProto, dir string) {
	c := e.conn(t, p, "alice")
	data := testutil.RandomBytes(100000, 35)
	f := dir + "/file.bin"
	if err := upload(c, f, data); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if got, err := download(c, f, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes (%v)", len(got), err)
	}
	fileOps(t, e, c, dir)
	wantOneTransferLog(t, e, p, "alice", f, true)
	wantOneTransferLog(t, e, p, "alice", f, false)
	wantOneOpLog(t, e, p, "mkdir", "alice", dir+"/made", "")
	wantOneOpLog(t, e, p, "rename", "alice", dir+"/from.bin", dir+"/to.bin")
	wantOneOpLog(t, e, p, "delete", "alice", dir+"/del.bin", "")
	wantOneOpLog(t, e, p, "rmdir", "alice", dir+"/gone", "")
}

func confReadOnly(t *testing.T, e *confEnv, p confProto, dir string) {
	keep := dir + "/keep.txt"
	os.WriteFile(onDisk(e.roHome, keep), []byte("keep\n"), 0o644)
	os.Mkdir(onDisk(e.roHome, dir+"/sub"), 0o755)
	c := e.conn(t, p, "rob")
	if got, err := download(c, keep, 0); err != nil || string(got) != "keep\n" {
		t.Fatalf("a read-only user cannot read: %q (%v)", got, err)
	}
	wantKind(t, p, "upload by a read-only user", upload(c, dir+"/new.txt", []byte("new\n")), "permission")
	wantKind(t, p, "overwrite by a read-only user", upload(c, keep, []byte("changed\n")), "permission")
	wantKind(t, p, "delete by a read-only user", c.Remove(keep), "permission")
	wantKind(t, p, "mkdir by a read-only user", c.Mkdir(dir+"/newdir"), "permission")
	wantKind(t, p, "rename by a read-only user", c.Rename(keep, dir+"/moved.txt"), "permission")
	wantKind(t, p, "rmdir by a read-only user", c.RemoveDir(dir+"/sub"), "permission")
	if b, err := os.ReadFile(onDisk(e.roHome, keep)); err != nil || string(b) != "keep\n" {
		t.Errorf("the read-only user's file changed: %q (%v)", b, err)
	}
	for _, n := range []string{"new.txt", "newdir", "moved.txt"} {
		if _, err := os.Lstat(onDisk(e.roHome, dir+"/"+n)); err == nil {
			t.Errorf("a read-only user created %s", n)
		}
	}
	if _, err := os.Stat(onDisk(e.roHome, dir+"/sub")); err != nil {
		t.Errorf("a read-only user removed a folder: %v", err)
	}
}

func confNotFound(t *testing.T, e *confEnv, p confProto, dir string) {
	c := e.conn(t, p, "alice")
	_, err := download(c, dir+"/missing.bin", 0)
	wantKind(t, p, "download of a missing file", err, "notfound")
	wantKind(t, p, "delete of a missing file", c.Remove(dir+"/missing.bin"), "notfound")
}

func confResumeDownload(t *testing.T, e *confEnv, p confProto, dir string) {
	data := testutil.RandomBytes(2<<20+5, 32)
	f := dir + "/big.bin"
	os.WriteFile(onDisk(e.home, f), data, 0o644)
	c := e.conn(t, p, "alice")
	// An interrupted download: the reader is closed after 700 KiB.
	r, err := c.Open(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	part := make([]byte, 700<<10)
	if _, err := io.ReadFull(r, part); err != nil {
		t.Fatalf("first part: %v", err)
	}
	r.Close()
	local := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(local+".part", part, 0o644)
	x := &client.Transfer{Conn: c, Resume: true}
	if err := x.Get(f, local); err != nil {
		t.Fatalf("resumed download: %v", err)
	}
	if got, _ := os.ReadFile(local); !bytes.Equal(got, data) {
		t.Fatalf("resumed download differs: %d bytes, want %d", len(got), len(data))
	}
	if len(x.Files) != 1 || x.Files[0].ResumedFrom != int64(len(part)) || x.Files[0].Transferred != int64(len(data)-len(part)) {
		t.Fatalf("resumed download: %+v, want it to continue at %d", x.Files, len(part))
	}
}

func confResumeUpload(t *testing.T, e *confEnv, p confProto, dir string) {
	data := testutil.RandomBytes(2<<20+7, 33)
	f := dir + "/big.bin"
	c := e.conn(t, p, "alice")
	// What a stopped resumable upload leaves: the first part under the name.
	const cut = 900 << 10
	if err := upload(c, f, data[:cut]); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(local, data, 0o644)
	x := &client.Transfer{Conn: c, Resume: true}
	if err := x.Put(local, f); err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	if got, _ := os.ReadFile(onDisk(e.home, f)); !bytes.Equal(got, data) {
		t.Fatalf("resumed upload differs on the server: %d bytes, want %d", len(got), len(data))
	}
	// Every protocol continues where the server's copy ends: over HTTPS
	// with a partial PUT (Content-Range).
	from := int64(cut)
	if len(x.Files) != 1 || x.Files[0].ResumedFrom != from || x.Files[0].Transferred != int64(len(data))-from {
		t.Fatalf("resumed upload: %+v, want it to continue at %d", x.Files, from)
	}
}

// confEscapeDotDot climbs out of the home with "..": refused as a
// permission error, and logged.
func confEscapeDotDot(t *testing.T, e *confEnv, p confProto, dir string) {
	c := e.conn(t, p, "alice")
	passwd, _ := os.ReadFile("/etc/passwd")
	const f = "../../etc/passwd"
	got, err := download(c, f, 0)
	if len(passwd) > 0 && bytes.Contains(got, passwd[:min(len(passwd), 32)]) {
		t.Fatalf("read %s over %s: the server's /etc/passwd came through", f, p.scheme)
	}
	wantKind(t, p, "reading "+f, err, "permission")
	lines := e.s.logsFor(refusalLogWait, func(l map[string]any) bool {
		return strings.Contains(str(l, "path"), "etc/passwd") && str(l, "service") == p.service
	})
	if len(lines) == 0 {
		t.Errorf("the server logs no line (with a path=...etc/passwd) for the refused read of %s over %s", f, p.scheme)
	} else if l := lines[0]; str(l, "user") != "alice" || str(l, "service") != p.service {
		t.Errorf("log line for the refused read of %s over %s lacks user=alice service=%s: %v", f, p.scheme, p.service, l)
	}
}

// confEscapeSymlink follows symbolic links that the test (not the user)
// placed in the home, to a file and a folder outside it: reads and writes
// are refused as permission errors, and the refused reads logged.
func confEscapeSymlink(t *testing.T, e *confEnv, p confProto, dir string) {
	os.Symlink(filepath.Join(e.outside, "secret.txt"), onDisk(e.home, dir+"/link-out.txt"))
	os.Symlink(e.outside, onDisk(e.home, dir+"/dir-out"))
	c := e.conn(t, p, "alice")
	for _, f := range []string{dir + "/link-out.txt", dir + "/dir-out/secret.txt"} {
		got, err := download(c, f, 0)
		if bytes.Contains(got, e.secret) {
			t.Fatalf("read %s over %s: the file outside the home came through", f, p.scheme)
		}
		wantKind(t, p, "reading "+f+" (a symbolic link out of the home)", err, "permission")
		lines := e.s.logsFor(refusalLogWait, func(l map[string]any) bool { return str(l, "path") == f })
		if len(lines) == 0 {
			t.Errorf("the server logs no line for the refused read of %s (a link out of the home) over %s", f, p.scheme)
		} else {
			checkLogLine(t, p, "the refused read of "+f, lines[0], "alice", f)
		}
	}
	w := dir + "/dir-out/written.txt"
	wantKind(t, p, "writing "+w+" (through a symbolic link out of the home)", upload(c, w, []byte("w")), "permission")
	if _, err := os.Lstat(filepath.Join(e.outside, "written.txt")); err == nil {
		t.Fatalf("a file was written outside the home over %s", p.scheme)
	}
}

func confRemoveNonEmpty(t *testing.T, e *confEnv, p confProto, dir string) {
	c := e.conn(t, p, "alice")
	full := dir + "/full"
	if err := c.Mkdir(full); err != nil {
		t.Fatal(err)
	}
	if err := upload(c, full+"/inside.txt", []byte("inside\n")); err != nil {
		t.Fatal(err)
	}
	wantKind(t, p, "removing a folder that is not empty", c.RemoveDir(full), "notempty")
	if b, err := os.ReadFile(onDisk(e.home, full+"/inside.txt")); err != nil || string(b) != "inside\n" {
		t.Errorf("the folder's content is gone after a refused rmdir: %v", err)
	}
}

func confUnicode(t *testing.T, e *confEnv, p confProto, dir string) {
	const name, renamed = "Grüße 日本.txt", "café ☕ ß.txt"
	c := e.conn(t, p, "alice")
	data := []byte("unicode name\n")
	f := dir + "/" + name
	if err := upload(c, f, data); err != nil {
		t.Fatalf("upload %q: %v", name, err)
	}
	if got, err := os.ReadFile(onDisk(e.home, f)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%q on disk: %v", name, err)
	}
	es, err := c.List(dir)
	if err != nil || len(es) != 1 || es[0].Name != name || es[0].Size != int64(len(data)) {
		t.Fatalf("list: %+v (%v), want one entry %q of %d bytes", es, err, name, len(data))
	}
	if got, err := download(c, f, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download %q: %q (%v)", name, got, err)
	}
	if err := c.Rename(f, dir+"/"+renamed); err != nil {
		t.Fatalf("rename to %q: %v", renamed, err)
	}
	es, err = c.List(dir)
	if err != nil || len(es) != 1 || es[0].Name != renamed {
		t.Fatalf("list after rename: %+v (%v), want one entry %q", es, err, renamed)
	}
	if _, err := os.Stat(onDisk(e.home, dir+"/"+renamed)); err != nil {
		t.Fatalf("renamed file on disk: %v", err)
	}
}

// TestConformanceDiskFull uploads 3 MiB into a home on a 2 MiB tmpfs over
// every protocol: the upload fails, nothing is published under its name,
// and the error the client gets names no path of the server's.
func TestConformanceDiskFull(t *testing.T) {
	tiny := mountTinyHome(t)
	s := newServer(t, func(c *config.Config) { c.LogFormat = "json" })
	s.addUser("tina", confPass, "--home", tiny)
	s.start()
	data := testutil.RandomBytes(3<<20, 34)
	for _, p := range confProtos {
		t.Run(p.scheme, func(t *testing.T) {
			emptyDir(t, tiny)
			c, err := s.dial(p.scheme, "tina", confPass, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			name := "/full-" + p.scheme + ".bin"
			done := make(chan error, 1)
			go func() { done <- upload(c, name, data) }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the upload into a full disk neither failed nor ended in 30 s")
			}
			if err == nil {
				t.Fatalf("uploading %d bytes into a 2 MiB file system succeeded", len(data))
			}
			t.Logf("error: %v", err)
			if fi, serr := os.Lstat(filepath.Join(tiny, path.Base(name))); serr == nil {
				t.Errorf("a failed upload was published under its name (%d of %d bytes)", fi.Size(), len(data))
			}
			var leaks []string
			for _, leak := range []string{tiny, s.Dir, s.Cfg.DataDir, vfs.TempDir} {
				if strings.Contains(err.Error(), leak) {
					leaks = append(leaks, leak)
				}
			}
			if len(leaks) > 0 {
				t.Errorf("the error of the failed upload names the server's paths %q: %v", leaks, err)
			}
			if left := testutil.Uploading(tiny); len(left) > 0 {
				t.Logf("note: %d temporary upload file(s) left in the home", len(left))
			}
		})
	}
}

// mountTinyHome mounts a 2 MiB tmpfs for a home and unmounts it when the
// test ends. It needs root: elsewhere it skips, except under CI=true.
func mountTinyHome(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		msg := "mounting a small tmpfs for the disk-full home needs root (CI runs as root)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	testutil.Need(t, "mount", "umount")
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs -o size=2m tmpfs %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

// emptyDir empties a folder.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if err := os.RemoveAll(filepath.Join(dir, de.Name())); err != nil {
			t.Fatal(err)
		}
	}
}
