package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestWebCurl round-trips files through `ferry serve` with curl: over
// HTTPS directly, and over plain HTTP with the 308 redirect to HTTPS
// followed.
func TestWebCurl(t *testing.T) {
	testutil.Need(t, "curl")
	s := newServer(t, nil)
	const pw = "web-e2e-password"
	home := s.addUser("webby", pw)
	s.start()
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	https := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort)
	plain := "http://" + s.addr(s.Cfg.HTTP.Port)
	dir := t.TempDir()
	data := testutil.RandomBytes(3<<20+17, 7)
	local := filepath.Join(dir, "up.bin")
	os.WriteFile(local, data, 0o644)
	curl := func(args ...string) string {
		t.Helper()
		out, err := run(t, "", "curl", append([]string{"-sS", "--fail-with-body", "--cacert", cert}, args...)...)
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	user := "webby:" + pw

	// HTTPS: upload, list, download, Range.
	if out := curl("-u", user, "-T", local, "-w", "%{http_code}", https+"/api/v1/files/up.bin"); out != "201" {
		t.Fatalf("upload over HTTPS: %q", out)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "up.bin")); !bytes.Equal(got, data) {
		t.Fatal("uploaded file differs")
	}
	var l struct {
		Entries []struct {
			Name string
			Size int64
		}
	}
	if err := json.Unmarshal([]byte(curl("-u", user, https+"/api/v1/files/")), &l); err != nil || len(l.Entries) != 1 || l.Entries[0].Size != int64(len(data)) {
		t.Fatalf("listing: %+v %v", l, err)
	}
	down := filepath.Join(dir, "down.bin")
	curl("-u", user, "-o", down, https+"/api/v1/files/up.bin")
	if got, _ := os.ReadFile(down); !bytes.Equal(got, data) {
		t.Fatal("download over HTTPS differs")
	}
	if out := curl("-u", user, "-r", "1000-1099", https+"/api/v1/files/up.bin"); out != string(data[1000:1100]) {
		t.Fatalf("range download: %d bytes", len(out))
	}

	// Plain HTTP: a 308 to the same path on the HTTPS port, then the
	// same round trip with the redirect followed (--location-trusted keeps
	// the credentials across the change of port).
	out := curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", plain+"/api/v1/files/up.bin?x=1")
	if want := "308 " + https + "/api/v1/files/up.bin?x=1"; out != want {
		t.Fatalf("plain HTTP answers %q, want %q", out, want)
	}
	if out := curl("--location-trusted", "-u", user, "-T", local, "-w", "%{http_code}", plain+"/api/v1/files/again.bin"); out != "201" {
		t.Fatalf("upload over HTTP with redirect: %q", out)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "again.bin")); !bytes.Equal(got, data) {
		t.Fatal("file uploaded through the redirect differs")
	}
	curl("--location-trusted", "-u", user, "-o", down, plain+"/api/v1/files/again.bin")
	if got, _ := os.ReadFile(down); !bytes.Equal(got, data) {
		t.Fatal("download through the redirect differs")
	}

	// A bearer token, then mkdir, rename and delete with it.
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(curl("-u", user, "-X", "POST", https+"/api/v1/token")), &tok); err != nil || tok.Token == "" {
		t.Fatalf("token: %v", err)
	}
	bearer := "Authorization: Bearer " + tok.Token
	for _, step := range []struct {
		args []string
		code int
	}{
		{[]string{"-X", "POST", https + "/api/v1/files/box?op=mkdir"}, 201},
		{[]string{"-X", "POST", https + "/api/v1/files/again.bin?op=rename&to=box/moved.bin"}, 204},
		{[]string{"-X", "DELETE", https + "/api/v1/files/box/moved.bin"}, 204},
		{[]string{"-X", "DELETE", https + "/api/v1/files/box"}, 204},
	} {
		if out := curl(append([]string{"-H", bearer, "-w", "%{http_code}"}, step.args...)...); out != strconv.Itoa(step.code) {
			t.Fatalf("curl %v: %q, want %d", step.args, out, step.code)
		}
	}
	if entries := testutil.Home(t, home); len(entries) != 1 || entries[0] != "up.bin" {
		t.Fatalf("home after mkdir/rename/delete: %v", entries)
	}

	// Errors are JSON with the status; a wrong password is refused.
	out, _ = run(t, "", "curl", "-sS", "--cacert", cert, "-u", "webby:wrong", "-w", " %{http_code}", https+"/api/v1/files/")
	if !strings.HasPrefix(out, `{"error":`) || !strings.HasSuffix(out, " 401") {
		t.Fatalf("wrong password: %q", out)
	}

	// The browser login with curl's cookie jar: the session cookie opens
	// the file browser, and HSTS is on.
	jar := filepath.Join(dir, "jar")
	out = curl("-c", jar, "-d", "user=webby", "-d", "password="+pw, "-o", "/dev/null", "-w", "%{http_code}", https+"/login")
	if out != "303" {
		t.Fatalf("form login: %q", out)
	}
	page := curl("-b", jar, "-D", "-", https+"/")
	if !regexp.MustCompile(`(?i)strict-transport-security: max-age=\d+`).MatchString(page) || !strings.Contains(page, `name="csrf-token"`) {
		t.Fatalf("file browser over curl:\n%s", page)
	}
	// Uploads streamed from curl's standard input (chunked, no length):
	// the server's peak memory after 32 MiB and after 256 MiB more must be
	// about the same, since the body goes to disk as it arrives.
	hwm := func() int64 {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
		if m == nil {
			t.Fatalf("no VmHWM in /proc status:\n%s", status)
		}
		kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
		return kb << 10
	}
	stream := func(size int64) {
		t.Helper()
		out, err := run(t, "", "bash", "-c", fmt.Sprintf("head -c %d /dev/zero | curl -sS --fail-with-body --cacert %s -u %s -T - -w %%{http_code} %s/api/v1/files/zeros.bin", size, cert, user, https))
		if err != nil || (out != "201" && out != "204") {
			t.Fatalf("streamed upload of %d bytes: %v %q", size, err, out)
		}
		if fi, err := os.Stat(filepath.Join(home, "zeros.bin")); err != nil || fi.Size() != size {
			t.Fatalf("streamed upload stored %v, %v", fi, err)
		}
	}
	stream(32 << 20)
	before := hwm()
	stream(256 << 20)
	after := hwm()
	t.Logf("ferry serve peak RSS: %d MiB after 32 MiB uploaded, %d MiB after 256 MiB more", before>>20, after>>20)
	if after-before > 64<<20 {
		t.Errorf("server memory grew by %d MiB during a 256 MiB upload", (after-before)>>20)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.Logs())
	}
}
