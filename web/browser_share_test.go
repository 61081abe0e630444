package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/pquerna/otp/totp"
)

// newBrowser starts headless Chromium trusting the test certificate and
// returns a step runner that screenshots a failure.
func newBrowser(t *testing.T, ts *testServer, shotName string) (context.Context, func(string, ...chromedp.Action[chromedp.Void])) {
	exe := testutil.NeedOne(t, "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(t, ts)),
		chromedp.WindowSize(1200, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	artifacts := artifactDir(t)
	return ctx, func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, filepath.Join(artifacts, shotName))
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// TestShareBrowser: a visitor in headless Chromium downloads through a
// link with and without a password, delivers a file into a drop box with
// the progress bar, and is told when a link is expired, used up or
// revoked.
func TestShareBrowser(t *testing.T) {
	ts, home := shareFixture(t)
	ctx, step := newBrowser(t, ts, "share-failure.png")
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	read := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	download := func(what string, sel string, want string) {
		t.Helper()
		progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
		step(what, chromedp.Click(chromedp.CSS(sel)))
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("%s: canceled", what)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				if got, _ := os.ReadFile(filepath.Join(downloads, ev.GUID)); string(got) != want {
					t.Fatalf("%s: got %q", what, got)
				}
				return
			}
		}
	}

	open, _ := apiShare(t, ts, `{"path":"/out/a.txt","download":true,"max_uses":1}`)
	step("open a file link", chromedp.Navigate(open), chromedp.WaitVisible(chromedp.ID("share-download")))
	download("download without password", "#share-download", "alpha file")
	step("the used-up link", chromedp.Navigate(open), chromedp.WaitVisible(chromedp.ID("share-error")))
	msg := read(chromedp.Text(chromedp.ID("share-error")))
	if !strings.Contains(msg, "used up") {
		t.Fatalf("used-up link says %q", msg)
	}

	locked, lockedID := apiShare(t, ts, `{"path":"/out","download":true,"password":"s3cret pw"}`)
	step("open a password link", chromedp.Navigate(locked), chromedp.WaitVisible(chromedp.ID("share-password-form")),
		chromedp.SendKeys(chromedp.ID("share-password"), "s3cret pw"), chromedp.Submit(chromedp.ID("share-password-form")),
		chromedp.WaitVisible(chromedp.ID("share-listing")))
	download("download with password", `#share-listing tr[data-name="a.txt"] a`, "alpha file")

	drop, _ := apiShare(t, ts, `{"path":"/in","upload":true}`)
	payload := bytes.Repeat([]byte("dropbox bytes\n"), 400000) // ~5.6 MB: progress events fire
	local := filepath.Join(t.TempDir(), "big delivery.bin")
	os.WriteFile(local, payload, 0o644)
	step("drop-box upload", chromedp.Navigate(drop), chromedp.WaitVisible(chromedp.ID("share-upload-form")),
		chromedp.SetUploadFiles(chromedp.ID("share-file"), []string{local}),
		chromedp.Click(chromedp.ID("share-send")),
		chromedp.WaitVisible(chromedp.CSS(`#share-status[data-done]`)))
	status := read(chromedp.Text(chromedp.ID("share-status")))
	done := read(chromedp.Evaluate[string](`document.getElementById("share-status").dataset.done`))
	value := read(chromedp.Evaluate[string](`String(document.getElementById("share-progress").value)`))
	if done != "ok" || !strings.Contains(status, "big delivery.bin") {
		t.Fatalf("drop-box status %q (%s)", status, done)
	}
	if value != "100" {
		t.Fatalf("progress bar at %q after the upload", value)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "in", "big delivery.bin")); !bytes.Equal(got, payload) {
		t.Fatalf("delivered %d bytes, want %d", len(got), len(payload))
	}
	step("the drop box shows nothing", chromedp.Navigate(drop), chromedp.WaitVisible(chromedp.ID("share-upload-form")))
	html := read(chromedp.OuterHTML(chromedp.CSS("body")))
	if strings.Contains(html, "big delivery") || strings.Contains(html, "share-listing") {
		t.Fatal("the drop box lists what was delivered")
	}

	if err := ts.Store.RevokeShare(context.Background(), lockedID, "owner"); err != nil {
		t.Fatal(err)
	}
	step("revoked", chromedp.Navigate(locked), chromedp.WaitVisible(chromedp.ID("share-error")))
	msg = read(chromedp.Text(chromedp.ID("share-error")))
	if !strings.Contains(msg, "revoked") {
		t.Fatalf("revoked link says %q", msg)
	}
	token, _, err := CreateShare(context.Background(), ts.Store, ShareSpec{User: "owner", Path: "/out", Download: true, Expires: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	step("expired", chromedp.Navigate(ts.base+"/s/"+token), chromedp.WaitVisible(chromedp.ID("share-error")))
	msg = read(chromedp.Text(chromedp.ID("share-error")))
	if !strings.Contains(msg, "expired") {
		t.Fatalf("expired link says %q", msg)
	}

	// The owner makes a link in the web client's share page.
	step("log in", chromedp.Navigate(ts.base+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("user"), "owner"), chromedp.SendKeys(chromedp.ID("password"), testserver.Password),
		chromedp.Submit(chromedp.ID("login-form")), chromedp.WaitVisible(chromedp.ID("listing")))
	step("create a link in the web client", chromedp.Navigate(ts.base+"/shares"), chromedp.WaitVisible(chromedp.ID("share-create")),
		chromedp.SendKeys(chromedp.ID("share-path"), "/out/sub"), chromedp.Submit(chromedp.ID("share-create")),
		chromedp.WaitVisible(chromedp.ID("new-link")))
	newURL := read(chromedp.Text(chromedp.ID("new-link")))
	step("visit it", chromedp.Navigate(newURL), chromedp.WaitVisible(chromedp.CSS(`#share-listing tr[data-name="b.txt"]`)))
}

// TestTOTPBrowser: a user turns on two-factor in the browser, then logs
// in with a code computed here; a wrong code and a replayed one are
// refused, and each recovery code works once.
func TestTOTPBrowser(t *testing.T) {
	ts := startServer(t, nil)
	ts.addUser("tfa", false)
	ctx, step := newBrowser(t, ts, "totp-failure.png")
	read := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	login := func(what string) {
		step(what, chromedp.Navigate(ts.base+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.SendKeys(chromedp.ID("user"), "tfa"), chromedp.SendKeys(chromedp.ID("password"), testserver.Password),
			chromedp.Submit(chromedp.ID("login-form")))
	}
	logout := func() {
		step("log out", chromedp.Navigate(ts.base+"/"), chromedp.WaitVisible(chromedp.ID("logout")), chromedp.Click(chromedp.ID("logout")),
			chromedp.WaitVisible(chromedp.ID("login-form")))
	}
	login("log in without a second factor")
	step("wait for the file browser", chromedp.WaitVisible(chromedp.ID("listing")))
	step("open enrolment", chromedp.Navigate(ts.base+"/2fa"), chromedp.WaitVisible(chromedp.ID("enrol-form")))
	secret := read(chromedp.Text(chromedp.ID("enrol-secret")))
	qr := read(chromedp.Evaluate[string](`document.getElementById("enrol-qr").src`))
	if !strings.HasPrefix(qr, "data:image/png;base64,") || len(secret) < 16 {
		t.Fatalf("enrolment shows secret %q, QR %.40q", secret, qr)
	}
	step("a wrong enrolment code", chromedp.SendKeys(chromedp.ID("enrol-code"), "000000"), chromedp.Submit(chromedp.ID("enrol-form")),
		chromedp.WaitVisible(chromedp.ID("enrol-error")))
	code, err := totp.GenerateCodeCustom(secret, time.Now(), totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	step("confirm with a code", chromedp.SetValue(chromedp.ID("enrol-code"), code), chromedp.Submit(chromedp.ID("enrol-form")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	codesText := read(chromedp.Text(chromedp.ID("recovery-codes")))
	codes := strings.Fields(codesText)
	if len(codes) != recoveryCodes {
		t.Fatalf("recovery codes %q", codesText)
	}
	logout()

	login("password, then a code is asked")
	step("code form", chromedp.WaitVisible(chromedp.ID("code-form")))
	step("wrong code", chromedp.SendKeys(chromedp.ID("code"), "123456"), chromedp.Submit(chromedp.ID("code-form")),
		chromedp.WaitVisible(chromedp.ID("code-error")))
	// The enrolment used this time step: its code again is a replay.
	replayed, _ := totp.GenerateCodeCustom(secret, time.Now(), totpOpts)
	step("replayed code", chromedp.SetValue(chromedp.ID("code"), replayed), chromedp.Submit(chromedp.ID("code-form")),
		chromedp.WaitVisible(chromedp.ID("code-error")))
	step("recovery code", chromedp.SetValue(chromedp.ID("code"), codes[0]), chromedp.Submit(chromedp.ID("code-form")),
		chromedp.WaitVisible(chromedp.ID("listing")))
	logout()
	login("again")
	step("the same recovery code again", chromedp.WaitVisible(chromedp.ID("code-form")),
		chromedp.SendKeys(chromedp.ID("code"), codes[0]), chromedp.Submit(chromedp.ID("code-form")),
		chromedp.WaitVisible(chromedp.ID("code-error")))
	step("another recovery code", chromedp.SetValue(chromedp.ID("code"), codes[1]), chromedp.Submit(chromedp.ID("code-form")),
		chromedp.WaitVisible(chromedp.ID("listing")))
	logout()

	// A fresh code needs the next time step.
	next := time.Unix((time.Now().Unix()/30+1)*30, 0)
	time.Sleep(time.Until(next) + 200*time.Millisecond)
	fresh, _ := totp.GenerateCodeCustom(secret, time.Now(), totpOpts)
	login("with a fresh code")
	step("fresh code", chromedp.WaitVisible(chromedp.ID("code-form")), chromedp.SendKeys(chromedp.ID("code"), fresh),
		chromedp.Submit(chromedp.ID("code-form")), chromedp.WaitVisible(chromedp.ID("listing")))
	logout()
	login("the fresh code replayed")
	step("replay", chromedp.WaitVisible(chromedp.ID("code-form")), chromedp.SendKeys(chromedp.ID("code"), fresh),
		chromedp.Submit(chromedp.ID("code-form")), chromedp.WaitVisible(chromedp.ID("code-error")))

	// Basic auth of a two-factor account gets a token only with a code.
	c := ts.client()
	resp, body := ts.do(c, "GET", "/api/v1/files/", "tfa", nil)
	expect(t, "Basic of a 2FA account on files", resp, body, 403)
	resp, body = ts.do(c, "POST", "/api/v1/token", "tfa", nil)
	expect(t, "token without a code", resp, body, 401)
	resp, body = ts.do(c, "POST", "/api/v1/token", "tfa", nil, otpHeader, codes[2])
	expect(t, "token with a recovery code", resp, body, 200)
	if n := strings.Count(ts.Logs.String(), "method=totp"); n < 5 {
		t.Fatalf("refused codes logged as login.failed: %d, want >= 5", n)
	}
}
