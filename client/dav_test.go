//go:build unix

package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/web"
)

// WebDAV against the real servers: a private nginx (dav + dav-ext, Basic
// auth, TLS) and ferry's own /dav.

const davPass = "dav pass #?%-ü"

// davServer is a WebDAV server under test.
type davServer struct {
	url      string // davs://alice@127.0.0.1:PORT/PREFIX (no trailing slash)
	root     string // the folder the URL's path names
	prefix   string // the URL path of root ("" for nginx, "/dav" for ferry)
	noLinks  bool   // the server does not serve symbolic links (rclone)
	httpAddr string // ferry's HTTP port, which redirects to HTTPS
	// mkcolOver: MKCOL of an existing folder succeeds (rclone), where
	// RFC 4918 §9.3.1 says 405.
	mkcolOver bool
}

// startNginxDAV runs nginx with the dav modules on a free loopback port,
// with TLS unless plain, and ignoring Range when noRanges.
func startNginxDAV(t *testing.T, plain, noRanges bool) davServer {
	t.Helper()
	testutil.Need(t, "nginx", "openssl")
	const mod = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so"
	if _, err := os.Stat(mod); err != nil {
		t.Fatalf("%s is missing (.ci/run installs libnginx-mod-http-dav-ext): %v", mod, err)
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{root, filepath.Join(dir, "tmp"), filepath.Join(dir, "logs")} {
		os.MkdirAll(d, 0o755)
	}
	hash, err := exec.Command("openssl", "passwd", "-apr1", davPass).Output()
	if err != nil {
		t.Fatalf("openssl passwd: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("alice:"+strings.TrimSpace(string(hash))+"\n"), 0o644)
	port := testutil.FreePort(t)
	listen := "listen 127.0.0.1:" + strconv.Itoa(port) + " ssl;"
	scheme := "davs"
	tlsConf := ""
	if plain {
		listen, scheme = "listen 127.0.0.1:"+strconv.Itoa(port)+";", "dav"
	} else {
		cert, key := writeCert(t, dir, "nginx")
		tlsConf = "ssl_certificate " + cert + "; ssl_certificate_key " + key + ";"
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers write into the test's folders
	}
	ranges := ""
	if noRanges {
		ranges = "max_ranges 0;"
	}
	conf := fmt.Sprintf(`load_module %s;
%s
pid %[3]s/nginx.pid;
error_log %[3]s/logs/error.log;
worker_processes 2;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[3]s/tmp; proxy_temp_path %[3]s/tmp; fastcgi_temp_path %[3]s/tmp;
  uwsgi_temp_path %[3]s/tmp; scgi_temp_path %[3]s/tmp;
  server {
    %s
    %s
    root %s;
    client_max_body_size 0;
    %s
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      auth_basic "ferry test";
      auth_basic_user_file %[3]s/htpasswd;
    }
  }
}
`, mod, user, dir, listen, tlsConf, root, ranges)
	cfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfg, []byte(conf), 0o644)
	out := &bytes.Buffer{}
	cmd := exec.Command("nginx", "-c", cfg, "-p", dir, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	testutil.StartDaemon(t, cmd)
	waitListen(t, port, out)
	return davServer{url: fmt.Sprintf("%s://alice@127.0.0.1:%d", scheme, port), root: root}
}

// startFerryDAV runs ferry's web server and returns its /dav for alice.
func startFerryDAV(t *testing.T) davServer {
	t.Helper()
	s := testserver.New(t, func(c *config.Config) { c.FTP.Enabled, c.SFTP.Enabled = false, false })
	srv, err := web.New(web.Options{Config: s.Config, Core: s.Core, TLS: certs.ServerConfig(s.Cert), Log: s.Log})
	if err != nil {
		t.Fatal(err)
	}
	home := s.AddUser(store.User{Name: "alice"}).Home
	ln := s.Listener(listen.HTTPS)
	lnHTTP := s.Listener(listen.HTTP)
	s.Serve(srv, http.ErrServerClosed, func() error { return srv.ServeHTTPS(ln) }, func() error { return srv.ServeHTTP(lnHTTP) })
	return davServer{url: "davs://alice@" + ln.Addr().String() + "/dav", root: home, prefix: "/dav", httpAddr: lnHTTP.Addr().String()}
}

func (d davServer) options(t *testing.T, pass string) Options {
	o := testOptions(t)
	o.Password = pass
	return o
}

func (d davServer) pool(t *testing.T, pass string, size int) *Pool {
	t.Helper()
	return peer{url: d.url + "/", o: d.options(t, pass)}.pool(t, size)
}

// disk is where a remote path is on the server's disk.
func (d davServer) disk(remote string) string {
	return filepath.Join(d.root, filepath.FromSlash(strings.TrimPrefix(remote, d.prefix)))
}

func TestClientDAVNginx(t *testing.T) {
	d := startNginxDAV(t, false, false)
	davSuite(t, d, davPass)
	t.Run("resume", func(t *testing.T) {
		p := peer{url: d.url + "/", o: d.options(t, davPass), onDisk: d.disk}
		segmentsAndResume(t, p, "/seg")
	})
}

func TestClientDAVFerry(t *testing.T) {
	d := startFerryDAV(t)
	davSuite(t, d, testserver.Password)
	t.Run("dav upgrade", func(t *testing.T) {
		// ferry's HTTP port redirects to HTTPS: dav:// follows it before
		// any password is sent, and says so.
		var notes strings.Builder
		o := d.options(t, testserver.Password)
		o.Notice = &notes
		target, err := ParseURL("dav://alice@" + d.httpAddr + "/dav/")
		if err != nil {
			t.Fatal(err)
		}
		c, err := Dial(target, o)
		if err != nil {
			t.Fatalf("dav:// to ferry's HTTP port: %v", err)
		}
		defer c.Close()
		if _, err := c.List("/dav/"); err != nil {
			t.Fatalf("list after the upgrade: %v", err)
		}
		if !strings.Contains(notes.String(), "redirects to HTTPS") || strings.Contains(notes.String(), "not encrypted") {
			t.Fatalf("notes: %q", notes.String())
		}
	})
	t.Run("not WebDAV", func(t *testing.T) {
		// ferry's site outside /dav is no WebDAV: said at once, not as a
		// missing file later.
		target, err := ParseURL(strings.TrimSuffix(d.url, "/dav") + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Dial(target, d.options(t, testserver.Password))
		if ExitCode(err) != ExitRemote || !strings.Contains(err.Error(), "WebDAV") {
			t.Fatalf("dial of a URL that is not WebDAV: %v (exit %d)", err, ExitCode(err))
		}
	})
	t.Run("resume", func(t *testing.T) {
		p := peer{url: d.url + "/", o: d.options(t, testserver.Password), onDisk: d.disk}
		os.MkdirAll(d.disk("/dav/seg"), 0o755)
		segmentsAndResume(t, p, "/dav/seg")
	})
}

// startRcloneDAV runs `rclone serve webdav` (golang.org/x/net/webdav over
// rclone's VFS) with TLS on a free loopback port.
func startRcloneDAV(t *testing.T) davServer {
	t.Helper()
	testutil.Need(t, "rclone")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	cert, key := writeCert(t, dir, "rclone")
	port := testutil.FreePort(t)
	out := &bytes.Buffer{}
	cmd := exec.Command("rclone", "serve", "webdav", root, "--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--user", "alice", "--pass", davPass, "--cert", cert, "--key", key, "--config", filepath.Join(dir, "rclone.conf"),
		"--dir-cache-time", "0s") // the test writes files behind the server's back
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListen(t, port, out)
	return davServer{url: fmt.Sprintf("davs://alice@127.0.0.1:%d", port), root: root, noLinks: true, mkcolOver: true}
}

func TestClientDAVRclone(t *testing.T) {
	d := startRcloneDAV(t)
	davSuite(t, d, davPass)
	t.Run("resume", func(t *testing.T) {
		os.MkdirAll(d.disk("/seg"), 0o755)
		segmentsAndResume(t, peer{url: d.url + "/", o: d.options(t, davPass), onDisk: d.disk}, "/seg")
	})
}

// TestClientDAVNoRanges: an nginx that answers a Range with the whole
// file (max_ranges 0). A segmented download is still byte-exact, the next
// file goes in one stream, and a resume that cannot be done is refused
// with the reason, the part kept.
func TestClientDAVNoRanges(t *testing.T) {
	d := startNginxDAV(t, true, true)
	var notes strings.Builder
	o := d.options(t, davPass)
	o.Notice = &notes
	data := testutil.RandomBytes(8<<20+3, 81)
	os.WriteFile(d.disk("/a.bin"), data, 0o644)
	os.WriteFile(d.disk("/b.bin"), data, 0o644)
	pool := peer{url: d.url + "/", o: o}.pool(t, 4)
	if !strings.Contains(notes.String(), "not encrypted") {
		t.Fatalf("no warning that dav:// sends the password in clear: %q", notes.String())
	}
	local := t.TempDir()
	x := &Transfer{Pool: pool, Segments: 4}
	if err := x.Get("/a.bin", filepath.Join(local, "a.bin")); err != nil {
		t.Fatalf("segmented get from a server without ranges: %v", err)
	}
	sameBytes(t, filepath.Join(local, "a.bin"), data)
	if err := x.Get("/b.bin", filepath.Join(local, "b.bin")); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, filepath.Join(local, "b.bin"), data)
	if x.Files[1].Segments > 1 {
		t.Fatalf("the file after the server ignored Range went in %d segments", x.Files[1].Segments)
	}
	part := filepath.Join(local, "c.bin") + partSuffix
	os.WriteFile(part, data[:1000], 0o644)
	os.WriteFile(d.disk("/c.bin"), data, 0o644)
	x = &Transfer{Pool: pool, Segments: 1, Resume: true}
	err := x.Get("/c.bin", filepath.Join(local, "c.bin"))
	if ExitCode(err) != ExitRemote || !strings.Contains(err.Error(), "ignores Range") {
		t.Fatalf("resume against a server without ranges: %v (exit %d), want a refusal naming Range", err, ExitCode(err))
	}
	if b, _ := os.ReadFile(part); len(b) != 1000 {
		t.Fatalf("the refused resume changed the part: %d bytes", len(b))
	}
}

// davSuite runs the operations a user does against d.
func davSuite(t *testing.T, d davServer, pass string) {
	base := d.prefix
	t.Run("segments", func(t *testing.T) {
		local := t.TempDir()
		data := testutil.RandomBytes(8<<20+5, 71)
		src := filepath.Join(local, "big.bin")
		os.WriteFile(src, data, 0o644)
		x := &Transfer{Pool: d.pool(t, pass, 4), Segments: 4}
		if err := x.Put(src, base+"/big/"); ExitCode(err) != ExitRemote && err != nil {
			t.Fatal(err)
		}
		if err := MkdirAll(mustConn(t, x), base+"/big"); err != nil {
			t.Fatalf("mkdir: %v", err)
		}
		if err := x.Put(src, base+"/big/"); err != nil {
			t.Fatalf("put: %v", err)
		}
		sameBytes(t, d.disk(base+"/big/big.bin"), data)
		if err := x.Get(base+"/big/big.bin", filepath.Join(local, "back.bin")); err != nil {
			t.Fatalf("get: %v", err)
		}
		sameBytes(t, filepath.Join(local, "back.bin"), data)
		if f := x.Files[len(x.Files)-1]; f.Segments < 2 {
			t.Fatalf("download went in %d segments with --segments 4", f.Segments)
		}
		// -c of an upload: WebDAV cannot continue one; it is sent whole,
		// said so, and not claimed as resumed.
		os.WriteFile(d.disk(base+"/big/half.bin"), data[:len(data)/2], 0o644)
		var notes strings.Builder
		x = &Transfer{Pool: d.pool(t, pass, 4), Resume: true, Notice: &notes}
		if err := x.Put(src, base+"/big/half.bin"); err != nil {
			t.Fatalf("put -c: %v", err)
		}
		sameBytes(t, d.disk(base+"/big/half.bin"), data)
		if f := x.Files[0]; f.ResumedFrom != 0 || f.Transferred != int64(len(data)) || !strings.Contains(notes.String(), "whole file") {
			t.Fatalf("put -c over WebDAV: %+v, notes %q; want the whole file sent, with a notice", f, notes.String())
		}
	})
	t.Run("names", func(t *testing.T) {
		local := t.TempDir()
		names := []string{"a #b?c%d e.txt", "ünï cödé 日本.txt", "%41 100%.bin", "semi;colon,comma+plus&amp=eq'q.txt"}
		for i, n := range names {
			os.WriteFile(filepath.Join(local, n), testutil.RandomBytes(1000+i, uint64(i)), 0o644)
		}
		pool := d.pool(t, pass, 4)
		x := &Transfer{Pool: pool, Recursive: true, Parents: true}
		dir := base + "/odd #? %/sub dir"
		if err := x.Put(local, dir); err != nil {
			t.Fatalf("put -r: %v", err)
		}
		for i, n := range names {
			sameBytes(t, filepath.Join(d.disk(dir), n), testutil.RandomBytes(1000+i, uint64(i)))
		}
		c := mustConn(t, x)
		es, err := c.List(dir)
		if err != nil || len(es) != len(names) {
			t.Fatalf("list %q: %v %v", dir, es, err)
		}
		for _, e := range es {
			if e.Dir || e.Size < 1000 || e.ModTime.IsZero() {
				t.Fatalf("entry %+v", e)
			}
		}
		back := filepath.Join(t.TempDir(), "back")
		if err := x.Get(dir, back); err != nil {
			t.Fatalf("get -r: %v", err)
		}
		for i, n := range names {
			sameBytes(t, filepath.Join(back, n), testutil.RandomBytes(1000+i, uint64(i)))
		}
		e, err := c.Stat(dir + "/" + names[0])
		if err != nil || e.Name != names[0] || e.Size != 1000 {
			t.Fatalf("stat: %+v %v", e, err)
		}
		if _, err := c.Stat(dir + "/missing"); !errors.Is(err, fs.ErrNotExist) || ExitCode(err) != ExitRemote {
			t.Fatalf("stat of a missing file: %v, want not found", err)
		}
	})
	t.Run("tree", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "tree")
		for i := range 40 {
			f := filepath.Join(local, fmt.Sprintf("d%d", i%4), fmt.Sprintf("e%d", i%3), fmt.Sprintf("f%d", i))
			os.MkdirAll(filepath.Dir(f), 0o755)
			os.WriteFile(f, testutil.RandomBytes(i*333, uint64(i)), 0o644)
		}
		pool := d.pool(t, pass, 4)
		c := mustConn(t, &Transfer{Pool: pool})
		dir := base + "/a/b/c"
		if err := MkdirAll(c, dir); err != nil {
			t.Fatalf("mkdir -p: %v", err)
		}
		if err := MkdirAll(c, dir); err != nil {
			t.Fatalf("mkdir -p of an existing folder: %v", err)
		}
		if err := c.Mkdir(dir); !errors.Is(err, ErrRemote) && !(d.mkcolOver && err == nil) {
			t.Fatalf("mkdir of an existing folder: %v", err)
		}
		x := &Transfer{Pool: pool, Recursive: true}
		if err := x.Put(local, dir+"/tree"); err != nil {
			t.Fatalf("put -r: %v", err)
		}
		back := filepath.Join(t.TempDir(), "back")
		if err := x.Get(dir+"/tree", back); err != nil {
			t.Fatalf("get -r: %v", err)
		}
		for i := range 40 {
			rel := filepath.Join(fmt.Sprintf("d%d", i%4), fmt.Sprintf("e%d", i%3), fmt.Sprintf("f%d", i))
			want := testutil.RandomBytes(i*333, uint64(i))
			sameBytes(t, filepath.Join(d.disk(dir+"/tree"), rel), want)
			sameBytes(t, filepath.Join(back, rel), want)
		}
		// mirror up twice: the second run has nothing to do.
		m := &Mirror{Up: true, Delete: true}
		x = &Transfer{Pool: pool}
		if err := m.Run(x, local, base+"/mirror"); err != nil {
			t.Fatalf("mirror: %v", err)
		}
		if len(x.Files) != 40 {
			t.Fatalf("first mirror moved %d files, want 40", len(x.Files))
		}
		x = &Transfer{Pool: pool}
		if err := m.Run(x, local, base+"/mirror"); err != nil || len(x.Files) != 0 {
			t.Fatalf("second mirror: %v, %d files moved, want 0", err, len(x.Files))
		}
		// mirror down twice.
		down := filepath.Join(t.TempDir(), "down")
		m = &Mirror{Delete: true}
		x = &Transfer{Pool: pool}
		if err := m.Run(x, base+"/mirror", down); err != nil || len(x.Files) != 40 {
			t.Fatalf("mirror down: %v, %d files", err, len(x.Files))
		}
		x = &Transfer{Pool: pool}
		if err := m.Run(x, base+"/mirror", down); err != nil || len(x.Files) != 0 {
			t.Fatalf("second mirror down: %v, %d files moved, want 0", err, len(x.Files))
		}
		// rm of a folder that is not empty is refused; rm -r removes it.
		if err := Remove(c, dir); err == nil {
			t.Fatalf("rm of a folder that is not empty succeeded")
		}
		if _, err := os.Stat(d.disk(dir + "/tree/d0/e0/f0")); err != nil {
			t.Fatalf("a refused rm removed files: %v", err)
		}
		n, err := (&Transfer{Pool: pool}).RemoveAll(base + "/a")
		if err != nil || n != 40+16+1+3 {
			t.Fatalf("rm -r: %d removed, %v; want %d", n, err, 40+16+1+3)
		}
		if _, err := os.Stat(d.disk(base + "/a")); !os.IsNotExist(err) {
			t.Fatalf("rm -r left %s: %v", base+"/a", err)
		}
		// mv, and mv refusing to replace.
		os.WriteFile(d.disk(base+"/one.txt"), []byte("one"), 0o644)
		os.WriteFile(d.disk(base+"/two.txt"), []byte("two"), 0o644)
		if err := c.Rename(base+"/one.txt", base+"/two.txt"); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("mv over an existing file: %v, want a refusal", err)
		}
		if err := c.Rename(base+"/one.txt", base+"/three #?.txt"); err != nil {
			t.Fatalf("mv: %v", err)
		}
		if b, _ := os.ReadFile(d.disk(base + "/three #?.txt")); string(b) != "one" {
			t.Fatalf("mv: %q", b)
		}
	})
	t.Run("stdio", func(t *testing.T) {
		pool := d.pool(t, pass, 2)
		data := testutil.RandomBytes(300<<10+1, 5)
		x := &Transfer{Pool: pool}
		if err := x.PutFrom(bytes.NewReader(data), base+"/stdin #1.bin"); err != nil {
			t.Fatalf("put from standard input (chunked): %v", err)
		}
		sameBytes(t, d.disk(base+"/stdin #1.bin"), data)
		var out bytes.Buffer
		if err := x.GetTo(base+"/stdin #1.bin", &out); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("get to standard output: %v, %d bytes", err, out.Len())
		}
		// A folder moves with its content; the old name is gone.
		c := mustConn(t, x)
		if err := MkdirAll(c, base+"/mvdir/in"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rename(base+"/mvdir", base+"/moved dir"); err != nil {
			t.Fatalf("mv of a folder: %v", err)
		}
		if e, err := c.Stat(base + "/moved dir/in"); err != nil || !e.Dir {
			t.Fatalf("after mv of a folder: %+v %v", e, err)
		}
		if _, err := c.Stat(base + "/mvdir"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the old name of a moved folder: %v", err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		if d.noLinks {
			t.Skip("this server does not serve symbolic links")
		}
		looped := d.disk(base + "/looped")
		os.MkdirAll(filepath.Join(looped, "a"), 0o755)
		os.WriteFile(filepath.Join(looped, "top.txt"), []byte("top"), 0o644)
		os.WriteFile(filepath.Join(looped, "a", "inner.txt"), []byte("inner"), 0o644)
		os.Symlink("..", filepath.Join(looped, "a", "b"))
		var notes strings.Builder
		x := &Transfer{Pool: d.pool(t, pass, 4), Recursive: true, Notice: &notes}
		dst := filepath.Join(t.TempDir(), "looped")
		if err := x.Get(base+"/looped", dst); err != nil {
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
		if strings.Join(got, " ") != "a a/inner.txt top.txt" || !strings.Contains(notes.String(), "loop") {
			t.Fatalf("get -r over a loop a/b -> .. made %v; notes:\n%s", got, notes.String())
		}
	})
	t.Run("trust", func(t *testing.T) {
		target, err := ParseURL(d.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		o := d.options(t, pass)
		c, err := Dial(target, o)
		if err != nil {
			t.Fatalf("first connection: %v", err)
		}
		c.Close()
		b, _ := os.ReadFile(o.KnownHosts)
		if !strings.HasPrefix(string(b), target.Addr()+" sha256:") {
			t.Fatalf("no first-use record of %s: %q", target.Addr(), b)
		}
		os.WriteFile(o.KnownHosts, []byte(target.Addr()+" sha256:"+strings.Repeat("00", 32)+"\n"), 0o600)
		if _, err := Dial(target, o); ExitCode(err) != ExitTrust {
			t.Fatalf("a changed certificate: %v (exit %d), want exit %d", err, ExitCode(err), ExitTrust)
		}
		o.Insecure = true
		c, err = Dial(target, o)
		if err != nil {
			t.Fatalf("--insecure: %v", err)
		}
		c.Close()
	})
	t.Run("wrong password", func(t *testing.T) {
		target, err := ParseURL(d.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Dial(target, d.options(t, "not the password"))
		if ExitCode(err) != ExitAuth {
			t.Fatalf("wrong password: %v (exit %d), want exit %d", err, ExitCode(err), ExitAuth)
		}
		if strings.Contains(err.Error(), "not the password") {
			t.Fatalf("the error shows the password: %v", err)
		}
	})
}

func mustConn(t *testing.T, x *Transfer) Conn {
	t.Helper()
	c, err := x.thePool().Get()
	if err != nil {
		t.Fatal(err)
	}
	x.thePool().Put(c)
	return c
}

func TestDAVEscape(t *testing.T) {
	for raw, want := range map[string]Target{
		"davs://a@h/dav/x%23y%3F%25 z": {Scheme: "davs", Host: "h", Port: 443, User: "a", Path: "/dav/x#y?% z"},
		"dav://h:8080":                 {Scheme: "dav", Host: "h", Port: 8080, Path: "/"},
	} {
		if got, err := ParseURL(raw); err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	if _, err := ParseURL("davs://h/a#b"); ExitCode(err) != ExitUsage {
		t.Errorf("a raw # in a davs URL: %v", err)
	}
	for _, c := range []struct {
		p    string
		dir  bool
		want string
	}{
		{"/", false, "/"},
		{"", true, "/"},
		{"/a b/c#d?e%f", false, "/a%20b/c%23d%3Fe%25f"},
		{"/dav/ü", true, "/dav/%C3%BC/"},
	} {
		if got := davEscape(c.p, c.dir); got != c.want {
			t.Errorf("davEscape(%q, %v) = %q, want %q", c.p, c.dir, got, c.want)
		}
		if c.p != "" && path.Clean(c.p) != "/" {
			if p, err := hrefPath("https://h" + davEscape(c.p, c.dir)); err != nil || p != path.Clean(c.p) {
				t.Errorf("hrefPath of %q = %q, %v", c.p, p, err)
			}
		}
	}
}

// endless is an answer that never ends.
type endless struct{ head string }

func (e *endless) Read(b []byte) (int, error) {
	n := copy(b, e.head)
	e.head = e.head[n:]
	for i := n; i < len(b); i++ {
		b[i] = 'x'
	}
	return len(b), nil
}

// TestMultistatusBound: a PROPFIND answer that does not end is cut at
// the bound with an error, not read for ever (maxMultistatus is 64 MiB;
// 1 MiB here keeps the test short).
func TestMultistatusBound(t *testing.T) {
	_, err := parseMultistatusMax(&endless{head: `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"><D:response><D:href>/`}, 1<<20)
	if !errors.Is(err, errTooLarge) {
		t.Fatalf("endless multistatus: %v, want %v", err, errTooLarge)
	}
	es, err := parseMultistatus(strings.NewReader(`<?xml version="1.0"?><multistatus xmlns="DAV:"><response><href>http://h/d/a%23b</href>` +
		`<propstat><prop><getcontentlength>12</getcontentlength><getlastmodified>Tue, 01 Dec 2026 10:00:00 GMT</getlastmodified><resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat>` +
		`<propstat><prop><quota/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response>` +
		`<response><href>/d/gone</href><status>HTTP/1.1 404 Not Found</status></response></multistatus>`))
	if err != nil || len(es) != 1 || es[0].Name != "a#b" || es[0].Size != 12 || es[0].ModTime.Hour() != 10 || es[0].Dir {
		t.Fatalf("parse: %+v %v", es, err)
	}
}
