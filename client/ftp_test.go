package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

func testOptions(t *testing.T) Options {
	return Options{
		KnownHosts:    filepath.Join(t.TempDir(), "known_hosts"),
		SSHKnownHosts: filepath.Join(t.TempDir(), "ssh_known_hosts"),
		Timeout:       15 * time.Second,
	}
}

func dial(t *testing.T, raw string, o Options) Conn {
	t.Helper()
	target, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(target, o)
	if err != nil {
		t.Fatalf("dial %s: %v", Redact(raw), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip exercises every operation under the remote folder base and
// checks the bytes that come back.
func roundTrip(t *testing.T, c Conn, base string) {
	t.Helper()
	local := t.TempDir()
	data := testutil.RandomBytes(3<<20+17, 1)
	src := filepath.Join(local, "up.bin")
	os.WriteFile(src, data, 0o644)
	x := &Transfer{Conn: c}
	dir := path.Join(base, "sub")
	if err := c.Mkdir(dir); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := x.Put(src, dir+"/"); err != nil {
		t.Fatalf("put: %v", err)
	}
	es, err := c.List(dir)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(es) != 1 || es[0].Name != "up.bin" || es[0].Size != int64(len(data)) || es[0].Dir {
		t.Fatalf("listing after put: %+v", es)
	}
	if err := c.Rename(path.Join(dir, "up.bin"), path.Join(dir, "moved.bin")); err != nil {
		t.Fatalf("mv: %v", err)
	}
	dst := filepath.Join(local, "down.bin")
	if err := x.Get(path.Join(dir, "moved.bin"), dst); err != nil {
		t.Fatalf("get: %v", err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes differ from the %d uploaded", len(got), len(data))
	}
	if _, err := os.Stat(dst + partSuffix); !os.IsNotExist(err) {
		t.Fatalf("partial file left behind: %v", err)
	}
	if len(x.Files) != 2 || x.Files[1].Transferred != int64(len(data)) {
		t.Fatalf("transfer records: %+v", x.Files)
	}
	e, err := c.Stat(dir)
	if err != nil || !e.Dir {
		t.Fatalf("stat folder: %+v %v", e, err)
	}
	if err := c.Remove(path.Join(dir, "moved.bin")); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if err := c.RemoveDir(dir); err != nil {
		t.Fatalf("rmdir: %v", err)
	}
	_, err = c.Stat(path.Join(dir, "moved.bin"))
	if ExitCode(err) != ExitRemote {
		t.Fatalf("stat of a removed file: %v (exit %d), want a server refusal", err, ExitCode(err))
	}
	// Trees.
	tree := filepath.Join(local, "tree")
	os.MkdirAll(filepath.Join(tree, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(tree, "top.txt"), []byte("top"), 0o644)
	os.WriteFile(filepath.Join(tree, "a", "b", "deep.bin"), testutil.RandomBytes(70000, 2), 0o644)
	os.WriteFile(filepath.Join(tree, "a", "empty"), nil, 0o644)
	xr := &Transfer{Conn: c, Recursive: true}
	if err := xr.Put(tree, path.Join(base, "tree")); err != nil {
		t.Fatalf("put -r: %v", err)
	}
	back := filepath.Join(local, "back")
	if err := xr.Get(path.Join(base, "tree"), back); err != nil {
		t.Fatalf("get -r: %v", err)
	}
	for _, rel := range []string{"top.txt", "a/b/deep.bin", "a/empty"} {
		want, _ := os.ReadFile(filepath.Join(tree, rel))
		got, err := os.ReadFile(filepath.Join(back, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("tree file %s differs after put -r / get -r: %v", rel, err)
		}
	}
}

func ftpURL(scheme string, port int) string {
	return fmt.Sprintf("%s://%s:%s@127.0.0.1:%d/", scheme, ftpUser, ftpPass, port)
}

func dataResumed(t *testing.T, c Conn) bool {
	t.Helper()
	f, ok := c.(*ftpConn)
	if !ok {
		t.Fatalf("not an FTP connection: %T", c)
	}
	return f.c.DataResumed()
}

// TestVsftpd runs every operation against vsftpd with require_ssl_reuse,
// in each TLS flavour and FTP mode.
func TestVsftpd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		scheme   string
		implicit bool
		active   bool
	}{
		{"explicit-passive", "ftpes", false, false},
		{"explicit-active", "ftpes", false, true},
		{"implicit-passive", "ftps", true, false},
		{"implicit-active", "ftps", true, true},
		{"ftp-upgrades-to-tls", "ftp", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := startVsftpd(t, vsftpdOpts{implicit: tc.implicit})
			o := testOptions(t)
			o.Active = tc.active
			var trace syncBuffer
			o.Trace = &trace
			c := dial(t, ftpURL(tc.scheme, v.Port), o)
			roundTrip(t, c, "")
			// Once EPSV has worked, it goes out with the transfer command
			// (no 229 between them), and vsftpd answers both in order.
			if !tc.active && !strings.Contains(trace.String(), "> EPSV\n> ") {
				t.Fatalf("no pipelined EPSV in the dialogue:\n%s", trace.String())
			}
			// vsftpd has no MLST: a stat is SIZE and MDTM, sent together.
			if !regexp.MustCompile(`> SIZE [^\n]*\n> MDTM `).MatchString(trace.String()) {
				t.Fatalf("SIZE and MDTM not sent together:\n%s", trace.String())
			}
			if !dataResumed(t, c) {
				t.Fatal("the data connection did not resume the control connection's TLS session")
			}
			log := v.logText()
			if tc.active && !strings.Contains(log, `"EPRT |1|127.0.0.1|`) {
				t.Fatalf("no EPRT in vsftpd's log:\n%s", log)
			}
			if !tc.active && !strings.Contains(log, `"EPSV"`) {
				t.Fatalf("no EPSV in vsftpd's log:\n%s", log)
			}
			if !strings.Contains(log, `"PROT P"`) {
				t.Fatalf("no PROT P in vsftpd's log:\n%s", log)
			}
			if strings.Contains(log, ftpPass) {
				t.Fatal("the password reached the server's log in a form we did not expect")
			}
		})
	}
}

// TestVsftpdNoTLS keeps ftp:// in cleartext with NoTLS; vsftpd, which
// requires TLS, then refuses the login.
func TestVsftpdNoTLS(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{})
	o := testOptions(t)
	o.NoTLS = true
	target, _ := ParseURL(ftpURL("ftp", v.Port))
	_, err := Dial(target, o)
	if ExitCode(err) != ExitAuth {
		t.Fatalf("cleartext login to a TLS-only server: %v (exit %d), want exit %d", err, ExitCode(err), ExitAuth)
	}
	if strings.Contains(v.logText(), `"AUTH TLS"`) {
		t.Fatal("--no-tls still sent AUTH TLS")
	}
}

// TestActiveAddress checks on the wire that active mode announces the
// given address and a port from the given range, and that the server's
// connection to that address reaches the client.
func TestActiveAddress(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{})
	ports := testutil.FreeRange(t, 10)
	lo, hi := ports.Low, ports.High
	o := testOptions(t)
	o.Active = true
	o.ActiveAddress = "127.0.0.2"
	o.ActivePorts = PortRange{Low: lo, High: hi}
	c := dial(t, ftpURL("ftpes", v.Port), o)
	data := testutil.RandomBytes(200000, 3)
	local := filepath.Join(t.TempDir(), "f")
	os.WriteFile(local, data, 0o644)
	x := &Transfer{Conn: c}
	if err := x.Put(local, "f"); err != nil {
		t.Fatal(err)
	}
	if err := x.Get("f", local+".back"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(local + ".back"); !bytes.Equal(got, data) {
		t.Fatal("round trip in active mode changed the bytes")
	}
	m := regexp.MustCompile(`"EPRT \|1\|127\.0\.0\.2\|(\d+)\|"`).FindAllStringSubmatch(v.logText(), -1)
	if len(m) < 2 {
		t.Fatalf("vsftpd did not receive EPRT with 127.0.0.2:\n%s", v.logText())
	}
	for _, g := range m {
		p, _ := strconv.Atoi(g[1])
		if p < lo || p > hi {
			t.Fatalf("EPRT port %d outside --active-ports %d-%d", p, lo, hi)
		}
	}
}

// failing wraps a Conn so that a transfer breaks after limit bytes, like
// a connection lost half-way.
type failing struct {
	Conn
	limit int64
}

var errCut = errors.New("connection cut by the test")

func (f *failing) Open(p string, off int64) (io.ReadCloser, error) {
	r, err := f.Conn.Open(p, off)
	if err != nil {
		return nil, err
	}
	return &cutReader{ReadCloser: r, left: f.limit}, nil
}

func (f *failing) Create(p string, off int64) (io.WriteCloser, error) {
	w, err := f.Conn.Create(p, off)
	if err != nil {
		return nil, err
	}
	return &cutWriter{WriteCloser: w, left: f.limit}, nil
}

type cutReader struct {
	io.ReadCloser
	left int64
}

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.ReadCloser.Read(b)
	c.left -= int64(n)
	return n, err
}

type cutWriter struct {
	io.WriteCloser
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		n, _ := c.WriteCloser.Write(b[:c.left])
		c.left -= int64(n)
		return n, errCut
	}
	n, err := c.WriteCloser.Write(b)
	c.left -= int64(n)
	return n, err
}

// resumeBoth interrupts an upload and a download half-way and continues
// each with Resume, checking the bytes and that only the rest was sent.
func resumeBoth(t *testing.T, c Conn, remote string) {
	t.Helper()
	dir := t.TempDir()
	data := testutil.RandomBytes(2<<20+5, 4)
	src := filepath.Join(dir, "src")
	os.WriteFile(src, data, 0o644)
	const cut = 700000
	x := &Transfer{Conn: &failing{Conn: c, limit: cut}}
	err := x.Put(src, remote)
	if ExitCode(err) != ExitIncomplete {
		t.Fatalf("interrupted upload: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	e, err := c.Stat(remote)
	if err != nil || e.Size == 0 || e.Size >= int64(len(data)) {
		t.Fatalf("after the interrupted upload the server has %+v (%v), want a partial file", e, err)
	}
	partial := e.Size
	x = &Transfer{Conn: c, Resume: true}
	if err := x.Put(src, remote); err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	if len(x.Files) != 1 || x.Files[0].ResumedFrom != partial || x.Files[0].Transferred != int64(len(data))-partial {
		t.Fatalf("resumed upload did not continue at %d: %+v", partial, x.Files)
	}
	dst := filepath.Join(dir, "dst")
	x = &Transfer{Conn: &failing{Conn: c, limit: cut}}
	err = x.Get(remote, dst)
	if ExitCode(err) != ExitIncomplete {
		t.Fatalf("interrupted download: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatal("an interrupted download left a file under the final name")
	}
	fi, err := os.Stat(dst + partSuffix)
	if err != nil || fi.Size() != cut {
		t.Fatalf("partial download: %v %v", fi, err)
	}
	x = &Transfer{Conn: c, Resume: true}
	if err := x.Get(remote, dst); err != nil {
		t.Fatalf("resumed download: %v", err)
	}
	if x.Files[0].ResumedFrom != cut || x.Files[0].Transferred != int64(len(data))-cut {
		t.Fatalf("resumed download did not continue at %d: %+v", cut, x.Files)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Fatal("resumed download differs from the original")
	}
	// A second -c run finds both complete and moves nothing.
	x = &Transfer{Conn: c, Resume: true}
	if err := x.Get(remote, dst); err != nil || !x.Files[0].Skipped {
		t.Fatalf("complete file not skipped: %+v %v", x.Files, err)
	}
}

func TestVsftpdResume(t *testing.T) {
	for _, active := range []bool{false, true} {
		t.Run("active="+strconv.FormatBool(active), func(t *testing.T) {
			v := startVsftpd(t, vsftpdOpts{})
			o := testOptions(t)
			o.Active = active
			c := dial(t, ftpURL("ftpes", v.Port), o)
			resumeBoth(t, c, "big.bin")
			if !strings.Contains(v.logText(), `"REST 700000"`) {
				t.Fatalf("no REST in vsftpd's log:\n%s", v.logText())
			}
		})
	}
}

// TestChangedCertificate records vsftpd's self-signed certificate on first
// use, then refuses the same host and port with another certificate.
func TestChangedCertificate(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{cert: "first"})
	o := testOptions(t)
	var notes bytes.Buffer
	o.Notice = &notes
	c := dial(t, ftpURL("ftpes", v.Port), o)
	c.Close()
	if !strings.Contains(notes.String(), "trusting it on first use") {
		t.Fatalf("no first-use notice: %q", notes.String())
	}
	known, _ := os.ReadFile(o.KnownHosts)
	if !strings.HasPrefix(string(known), "127.0.0.1:"+strconv.Itoa(v.Port)+" sha256:") {
		t.Fatalf("known hosts file: %q", known)
	}
	notes.Reset()
	c = dial(t, ftpURL("ftpes", v.Port), o)
	c.Close()
	if notes.Len() != 0 {
		t.Fatalf("second connection with the same certificate: %q", notes.String())
	}
	v.stop()
	v2 := startVsftpd(t, vsftpdOpts{cert: "second", port: v.Port, root: v.Root})
	target, _ := ParseURL(ftpURL("ftpes", v2.Port))
	_, err := Dial(target, o)
	if ExitCode(err) != ExitTrust || !strings.Contains(err.Error(), "CHANGED") {
		t.Fatalf("changed certificate: %v (exit %d), want a clear refusal with exit %d", err, ExitCode(err), ExitTrust)
	}
	if strings.Contains(v2.logText(), `"USER `) {
		t.Fatal("the client sent its user name to a server it does not trust")
	}
	o.Insecure = true
	c = dial(t, ftpURL("ftpes", v2.Port), o)
	c.Close()
}
