package e2e

// The client over WebDAV across the long-distance link (25 ms each way,
// 1 Gbit/s): nginx with its dav modules and TLS in the server namespace,
// ferry's client and curl in the client one. A 256 MiB file down (in
// segments) and up, and a tree of 500 small files down and up, byte-exact;
// curl moves the same large file in one stream as the peer client.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

const davWANPass = "dav-wan-pw"

// startNginxDAVIn runs nginx (dav, dav-ext, Basic auth, TLS) in namespace
// ns on addr:port, serving root.
func startNginxDAVIn(t *testing.T, ns, addr string, port int, root string) {
	t.Helper()
	const mod = "/usr/lib/nginx/modules/ngx_http_dav_ext_module.so"
	if _, err := os.Stat(mod); err != nil {
		t.Fatalf("%s is missing (.ci/run installs libnginx-mod-http-dav-ext): %v", mod, err)
	}
	dir := t.TempDir()
	for _, d := range []string{"tmp", "logs"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	hash, err := exec.Command("openssl", "passwd", "-apr1", davWANPass).Output()
	if err != nil {
		t.Fatalf("openssl passwd: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("alice:"+strings.TrimSpace(string(hash))+"\n"), 0o644)
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=ferry dav wan", "-addext", "subjectAltName=IP:"+addr).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	conf := fmt.Sprintf(`load_module %s;
user root;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log;
worker_processes 2;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path %[2]s/tmp; proxy_temp_path %[2]s/tmp; fastcgi_temp_path %[2]s/tmp;
  uwsgi_temp_path %[2]s/tmp; scgi_temp_path %[2]s/tmp;
  server {
    listen %s:%d ssl;
    ssl_certificate %s; ssl_certificate_key %s;
    root %s;
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      auth_basic "ferry wan";
      auth_basic_user_file %[2]s/htpasswd;
    }
  }
}
`, mod, dir, addr, port, cert, key, root)
	cfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfg, []byte(conf), 0o644)
	out := &testutil.Buffer{}
	cmd := exec.Command("ip", "netns", "exec", ns, "nginx", "-c", cfg, "-p", dir, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = out, out
	testutil.StartDaemon(t, cmd)
}

// fileSum is the SHA-256 of a file, read as a stream.
func fileSum(t *testing.T, file string) [32]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func sameSum(t *testing.T, file string, want [32]byte) {
	t.Helper()
	if got := fileSum(t, file); got != want {
		t.Fatalf("%s is not byte-exact (sha256 %x, want %x)", file, got[:8], want[:8])
	}
}

func TestClientDAVWAN(t *testing.T) {
	w := newWAN(t)
	testutil.Need(t, "nginx", "curl", "openssl")
	start := time.Now()
	root := t.TempDir()
	port := testutil.FreePort(t)
	startNginxDAVIn(t, w.server, wanServerAddr, port, root)
	base := fmt.Sprintf("davs://alice@%s:%d", wanServerAddr, port)
	https := fmt.Sprintf("https://%s:%d", wanServerAddr, port)
	curl := func(args ...string) string {
		t.Helper()
		argv := append([]string{"netns", "exec", w.client, "curl", "-sS", "-k", "--max-time", "60", "-u", "alice:" + davWANPass}, args...)
		out, err := exec.Command("ip", argv...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", w.client, "curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", https+"/").Output()
		if string(out) == "401" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not answer on %s (%q)", https, out)
		}
		time.Sleep(50 * time.Millisecond)
	}

	src := t.TempDir()
	bigFile := filepath.Join(src, "big.bin")
	big := testutil.RandomBytes(256<<20, 91)
	bigSum := sha256.Sum256(big)
	os.WriteFile(bigFile, big, 0o644)
	os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644)
	big = nil
	tree := filepath.Join(src, "tree")
	var treeFiles []string
	for i := range 500 {
		rel := filepath.Join(fmt.Sprintf("d%02d", i%20), fmt.Sprintf("f #%03d.bin", i))
		os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(tree, rel), testutil.RandomBytes(1024+(i*7919)%(7*1024+1), uint64(i)), 0o644)
		treeFiles = append(treeFiles, rel)
	}

	c := w.clientIn(t, davWANPass)
	dst := t.TempDir()
	t0 := time.Now()
	sum := c.summary("get", "--segments", "4", base+"/big.bin", filepath.Join(dst, "big.bin"))
	t.Logf("ferry get 256 MiB over davs in %v, %d segments", time.Since(t0).Round(time.Millisecond), sum.Files[0].Segments)
	sameSum(t, filepath.Join(dst, "big.bin"), bigSum)
	if sum.Files[0].Segments < 2 {
		t.Errorf("a 256 MiB download at 50 ms with --segments 4 went in %d segments", sum.Files[0].Segments)
	}
	t0 = time.Now()
	c.summary("put", bigFile, base+"/up/big.bin")
	t.Logf("ferry put 256 MiB over davs in %v", time.Since(t0).Round(time.Millisecond))
	sameSum(t, filepath.Join(root, "up", "big.bin"), bigSum)

	t0 = time.Now()
	c.ok("put", "-r", tree, base+"/tree")
	t.Logf("ferry put -r of 500 files in %v", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	c.ok("get", "-r", base+"/tree", filepath.Join(dst, "tree"))
	t.Logf("ferry get -r of 500 files in %v", time.Since(t0).Round(time.Millisecond))
	for _, rel := range treeFiles {
		want, _ := os.ReadFile(filepath.Join(tree, rel))
		for _, got := range []string{filepath.Join(root, "tree", rel), filepath.Join(dst, "tree", rel)} {
			if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, want) {
				t.Fatalf("%s: not byte-exact (%d bytes, want %d): %v", got, len(b), len(want), err)
			}
		}
	}

	// curl, one stream each way, on the same server and file.
	t0 = time.Now()
	curl("-o", filepath.Join(dst, "curl.bin"), https+"/big.bin")
	t.Logf("curl GET 256 MiB in %v", time.Since(t0).Round(time.Millisecond))
	sameSum(t, filepath.Join(dst, "curl.bin"), bigSum)
	t0 = time.Now()
	if code := curl("-o", "/dev/null", "-w", "%{http_code}", "-T", bigFile, https+"/curl-up.bin"); code != "201" && code != "204" {
		t.Fatalf("curl PUT: status %s", code)
	}
	t.Logf("curl PUT 256 MiB in %v", time.Since(t0).Round(time.Millisecond))
	sameSum(t, filepath.Join(root, "curl-up.bin"), bigSum)
	// What curl put, ferry's client reads back (and the other way round
	// above): the same bytes whoever wrote them.
	ls := c.summary("ls", base+"/")
	names := map[string]int64{}
	for _, e := range ls.Entries {
		names[e.Name] = e.Size
	}
	if names["curl-up.bin"] != 256<<20 || names["big.bin"] != 256<<20 {
		t.Fatalf("ls over davs: %v", names)
	}
	if errOut := w.clientIn(t, "not-the-password").fails(4, "ls", base+"/"); !strings.Contains(errOut, "refused") {
		t.Fatalf("wrong password over davs: %q", errOut)
	}
	t.Logf("TestClientDAVWAN: %v in all", time.Since(start).Round(time.Millisecond))
}
