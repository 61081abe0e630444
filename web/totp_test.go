package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/pquerna/otp/totp"
)

// TestRequire2FAConfig: with http.require_2fa every user must enrol right
// after the password, before the first session; the next login asks for
// the code.
func TestRequire2FAConfig(t *testing.T) {
	ts := startServer(t, func(c *config.Config) { c.HTTP.Require2FA = true })
	ts.addUser("carol", false)
	c := ts.client()
	form := func(p string, v url.Values) (*http.Response, string) {
		return ts.do(c, "POST", p, "", strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	}
	resp, body := form("/login", url.Values{"user": {"carol"}, "password": {testserver.Password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/2fa" {
		t.Fatalf("login of a user without a key: %d %s %q", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, _ = ts.do(c, "GET", "/", "", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("the file browser before enrolment: %d", resp.StatusCode)
	}
	resp, body = ts.do(c, "GET", "/2fa", "", nil)
	m := regexp.MustCompile(`id="enrol-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("enrolment page: %d %q", resp.StatusCode, body)
	}
	code, _ := totp.GenerateCodeCustom(m[1], time.Now(), totpOpts)
	resp, body = form("/2fa", url.Values{"code": {code}})
	if resp.StatusCode != 200 || strings.Count(body, "<li><code>") != recoveryCodes {
		t.Fatalf("enrolment: %d %q", resp.StatusCode, body)
	}
	resp, _ = ts.do(c, "GET", "/", "", nil)
	expect(t, "file browser after enrolment", resp, "", http.StatusOK)

	c = ts.client() // a new browser
	resp, body = form("/login", url.Values{"user": {"carol"}, "password": {testserver.Password}})
	if resp.StatusCode != 200 || !strings.Contains(body, `id="code-form"`) {
		t.Fatalf("second login: %d %q", resp.StatusCode, body)
	}
	resp, _ = form("/login/2fa", url.Values{"code": {code}})
	expect(t, "the enrolment's code replayed", resp, "", http.StatusUnauthorized)
	resp, _ = ts.do(c, "GET", "/", "", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("file browser after a refused code: %d", resp.StatusCode)
	}
}
