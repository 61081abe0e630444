package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// shareFixture is a server with user "owner": /out holds a.txt and a
// folder sub/ with b.txt; /in is an empty drop box folder.
func shareFixture(t *testing.T) (*testServer, string) {
	ts := startServer(t, nil)
	home := ts.addUser("owner", false)
	for _, d := range []string{"out/sub", "in"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(home, "out", "a.txt"), []byte("alpha file"), 0o644)
	os.WriteFile(filepath.Join(home, "out", "sub", "b.txt"), []byte("beta file"), 0o644)
	os.WriteFile(filepath.Join(home, "secret.txt"), []byte("not shared"), 0o644)
	return ts, home
}

// apiShare creates a link over the REST API as owner and returns its URL
// and id.
func apiShare(t *testing.T, ts *testServer, spec string) (string, string) {
	t.Helper()
	c := ts.client()
	resp, body := ts.do(c, "POST", sharesAPI, "owner", strings.NewReader(spec), "Content-Type", "application/json")
	expect(t, "create share "+spec, resp, body, http.StatusCreated)
	var v struct{ URL, ID string }
	if err := json.Unmarshal([]byte(body), &v); err != nil || !strings.Contains(v.URL, "/s/") {
		t.Fatalf("create answer %q", body)
	}
	return v.URL, v.ID
}

// shareCurl runs curl against the test server and returns the status code and
// the body (and cookies in jar).
func shareCurl(t *testing.T, ts *testServer, jar string, args ...string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	base := []string{"-s", "--cacert", filepath.Join(ts.Config.DataDir, "tls-cert.pem"), "-o", out, "-w", "%{http_code}", "-b", jar, "-c", jar, "--max-time", "30"}
	cmd := exec.Command("curl", append(base, args...)...)
	code, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	b, _ := os.ReadFile(out)
	return string(code), string(b)
}

// TestShareCurl drives share links with curl: a password-protected
// download link with a use limit, escapes out of the shared folder, an
// upload-only drop box that shows nothing back, revocation and expiry.
func TestShareCurl(t *testing.T) {
	testutil.Need(t, "curl")
	ts, home := shareFixture(t)
	jar := filepath.Join(t.TempDir(), "jar")

	link, _ := apiShare(t, ts, `{"path":"/out","download":true,"password":"open sesame","max_uses":2,"expires":"1h"}`)
	if code, body := shareCurl(t, ts, jar, link); code != "401" || !strings.Contains(body, "share-password") {
		t.Fatalf("locked link: %s %q", code, body)
	}
	if code, _ := shareCurl(t, ts, jar, link+"/f/a.txt"); code != "401" {
		t.Fatalf("file of a locked link without the password: %s", code)
	}
	if code, _ := shareCurl(t, ts, jar, "-d", "password=wrong", link); code != "401" {
		t.Fatalf("wrong password: %s", code)
	}
	if code, _ := shareCurl(t, ts, jar, "-d", "password=open sesame", link); code != "303" {
		t.Fatalf("right password: %s", code)
	}
	code, body := shareCurl(t, ts, jar, link)
	if code != "200" || !strings.Contains(body, "a.txt") || !strings.Contains(body, "sub/") || strings.Contains(body, "secret.txt") {
		t.Fatalf("listing: %s %q", code, body)
	}
	for _, esc := range []string{"/f/../secret.txt", "/f/%2e%2e/secret.txt", "/f/sub/..%2F..%2Fsecret.txt", "/f/..%2fsecret.txt"} {
		code, body := shareCurl(t, ts, jar, "--path-as-is", link+esc)
		if code == "200" || strings.Contains(body, "not shared") {
			t.Fatalf("escape %s: %s %q", esc, code, body)
		}
	}
	if code, body := shareCurl(t, ts, jar, link+"/f/a.txt"); code != "200" || body != "alpha file" {
		t.Fatalf("download: %s %q", code, body)
	}
	if code, body := shareCurl(t, ts, jar, link+"/f/sub/b.txt"); code != "200" || body != "beta file" {
		t.Fatalf("download from a subfolder: %s %q", code, body)
	}
	if code, body := shareCurl(t, ts, jar, link+"/f/a.txt"); code != "410" || !strings.Contains(body, "used up") {
		t.Fatalf("third download of a 2-use link: %s %q", code, body)
	}
	if code, _ := shareCurl(t, ts, jar, "-F", "file=@"+filepath.Join(home, "secret.txt"), link); code != "410" && code != "403" {
		t.Fatalf("upload into a download link: %s", code)
	}

	// The drop box: upload-only, shows nothing, keeps nothing it has.
	drop, dropID := apiShare(t, ts, `{"path":"/in","upload":true}`)
	local := filepath.Join(t.TempDir(), "delivery.bin")
	payload := bytes.Repeat([]byte("delivery\x00"), 100000)
	os.WriteFile(local, payload, 0o644)
	if code, _ := shareCurl(t, ts, jar, "-F", "file=@"+local, drop); code != "303" {
		t.Fatalf("drop-box upload: %s", code)
	}
	if got, err := os.ReadFile(filepath.Join(home, "in", "delivery.bin")); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("delivered file differs (%d bytes, %v)", len(got), err)
	}
	if code, body := shareCurl(t, ts, jar, drop); code != "200" || strings.Contains(body, "delivery.bin") || !strings.Contains(body, "share-upload-form") {
		t.Fatalf("drop box page: %s %q", code, body)
	}
	if code, body := shareCurl(t, ts, jar, drop+"/f/delivery.bin"); code != "403" || strings.Contains(body, "delivery\x00") {
		t.Fatalf("download through a drop box: %s", code)
	}
	os.WriteFile(local, []byte("overwrite attempt"), 0o644)
	if code, _ := shareCurl(t, ts, jar, "-F", "file=@"+local, drop); code != "409" {
		t.Fatalf("drop-box upload over a delivered file: %s", code)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "in", "delivery.bin")); !bytes.Equal(got, payload) {
		t.Fatal("a drop-box upload replaced a delivered file")
	}
	if code, _ := shareCurl(t, ts, jar, "-F", "file=@"+local+";filename=../../escaped.txt", drop); code != "303" {
		t.Fatalf("upload named ../../escaped.txt: %s", code)
	}
	if _, err := os.Stat(filepath.Join(home, "in", "escaped.txt")); err != nil {
		t.Fatalf("a ../ file name was not kept inside the drop box: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "escaped.txt")); err == nil {
		t.Fatal("a drop-box upload escaped the shared folder")
	}

	// Revoked, then expired.
	resp, body := ts.do(ts.client(), "DELETE", sharesAPI+"/"+dropID, "owner", nil)
	expect(t, "revoke", resp, body, http.StatusNoContent)
	if code, body := shareCurl(t, ts, jar, drop); code != "410" || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked link: %s %q", code, body)
	}
	token, _, err := CreateShare(context.Background(), ts.Store, ShareSpec{User: "owner", Path: "/out/a.txt", Download: true, Expires: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if code, body := shareCurl(t, ts, jar, ts.base+"/s/"+token+"/dl"); code != "410" || !strings.Contains(body, "expired") {
		t.Fatalf("expired link: %s %q", code, body)
	}
	if code, _ := shareCurl(t, ts, jar, ts.base+"/s/not-a-token"); code != "404" {
		t.Fatalf("unknown token: %s", code)
	}

	// Listing over the API shows the links, never their tokens.
	resp, body = ts.do(ts.client(), "GET", sharesAPI, "owner", nil)
	expect(t, "list", resp, body, http.StatusOK)
	if strings.Contains(body, strings.TrimPrefix(drop, ts.base+"/s/")) || !strings.Contains(body, `"revoked":true`) {
		t.Fatalf("share list %q", body)
	}
	logs := ts.Logs.String()
	if n := strings.Count(logs, "event=share.used"); n != 4 {
		t.Fatalf("share.used events: %d, want 4 (2 downloads, 2 uploads; the refused overwrite is no use)", n)
	}
}

// TestShareWholeHome: a link to the home itself ("/") lists subfolders
// with working links and still refuses to climb out.
func TestShareWholeHome(t *testing.T) {
	ts, _ := shareFixture(t)
	link, _ := apiShare(t, ts, `{"path":"/","download":true}`)
	c := ts.client()
	resp, body := ts.do(c, "GET", link+"/f/out/sub", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `/f/out/sub/b.txt"`) {
		t.Fatalf("subfolder page: %d %q", resp.StatusCode, body)
	}
	resp, body = ts.do(c, "GET", link+"/f/out/sub/b.txt", "", nil)
	expect(t, "download from the whole-home link", resp, body, 200)
	resp, _ = ts.do(c, "GET", link+"/f/%2e%2e/%2e%2e/etc/passwd", "", nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("escape from a whole-home link: %d", resp.StatusCode)
	}
}

// TestSharePasswordLockout: guessing a link's password is bounded by the
// login lockout (5 failures in the test harness): the right password is
// then refused too, with 429.
func TestSharePasswordLockout(t *testing.T) {
	ts, _ := shareFixture(t)
	link, _ := apiShare(t, ts, `{"path":"/out","download":true,"password":"right one"}`)
	c := ts.client()
	try := func(pw string) int {
		resp, _ := ts.do(c, "POST", link, "", strings.NewReader("password="+pw), "Content-Type", "application/x-www-form-urlencoded")
		return resp.StatusCode
	}
	for i := range 5 {
		if got := try("guess"); got != http.StatusUnauthorized && got != http.StatusTooManyRequests {
			t.Fatalf("guess %d: %d", i+1, got)
		}
	}
	if got := try("right+one"); got != http.StatusTooManyRequests {
		t.Fatalf("right password after 5 guesses: %d, want 429", got)
	}
	if n := strings.Count(ts.Logs.String(), "method=share"); n < 5 {
		t.Fatalf("wrong link passwords logged as login.failed: %d", n)
	}
}
