package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// artifactDir is where the browser test leaves its screenshots:
// $FERRY_ARTIFACTS, or a folder in the system's temporary directory.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("FERRY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "ferry-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// spkiHash is the base64 SHA-256 of a certificate's public key, the form
// Chromium's --ignore-certificate-errors-spki-list takes: it trusts the
// test certificate and nothing else.
func spkiHash(t *testing.T, ts *testServer) string {
	cert, err := os.ReadFile(filepath.Join(ts.Config.DataDir, "tls-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(cert)
	if block == nil {
		t.Fatal("test certificate is not PEM")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestBrowser drives the web client in headless Chromium: log in, upload
// through the file input and by drag and drop, download and compare the
// bytes, make a folder, rename, delete, log out; then check that a
// read-only user gets no write controls.
func TestBrowser(t *testing.T) {
	exe := testutil.NeedOne(t, "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome") // Debian's first
	ts := startServer(t, nil)
	home := ts.addUser("web", false)
	viewerHome := ts.addUser("viewer", true)
	if err := os.WriteFile(filepath.Join(viewerHome, "seen.txt"), []byte("look, don't touch"), 0o644); err != nil {
		t.Fatal(err)
	}
	artifacts := artifactDir(t)
	downloads := t.TempDir()

	content := bytes.Repeat([]byte("ferry browser test \x00\xff\n"), 50000) // ~1 MiB, binary
	local := filepath.Join(t.TempDir(), "report 2026.bin")
	if err := os.WriteFile(local, content, 0o644); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(t, ts)),
		chromedp.WindowSize(1200, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, filepath.Join(artifacts, "browser-failure.png"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	row := func(name string) chromedp.CSS { return chromedp.CSS(`#listing tr[data-name="` + name + `"]`) }

	step("open the site", chromedp.Navigate(ts.base+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	step("wrong password",
		chromedp.SendKeys(chromedp.ID("user"), "web"),
		chromedp.SendKeys(chromedp.ID("password"), "not it"),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	step("log in",
		chromedp.SetValue(chromedp.ID("password"), testserver.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("listing")),
		chromedp.WaitReady(chromedp.ID("file-input")))

	step("upload through the file input",
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{local}),
		chromedp.WaitVisible(row("report 2026.bin")))
	if got, err := os.ReadFile(filepath.Join(home, "report 2026.bin")); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("uploaded file on the server differs (%d bytes, %v)", len(got), err)
	}

	// Drag and drop: the page receives a drop event carrying a file, as
	// when one is dragged from the desktop.
	step("drop a file on the page",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File(["dropped bytes"], "dropped.txt", {type: "text/plain"}));
			document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		})()`),
		chromedp.WaitVisible(row("dropped.txt")))
	if got, _ := os.ReadFile(filepath.Join(home, "dropped.txt")); string(got) != "dropped bytes" {
		t.Fatalf("dropped file holds %q", got)
	}

	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	step("click the download link", chromedp.Click(chromedp.CSS(`#listing tr[data-name="report 2026.bin"] a.file`)))
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	if got, err := os.ReadFile(filepath.Join(downloads, guid)); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("downloaded bytes differ from the upload (%d bytes, %v)", len(got), err)
	}

	// Uploading over an existing name asks first.
	content2 := append(bytes.Clone(content[:1000]), "second version"...)
	if err := os.WriteFile(local, content2, 0o644); err != nil {
		t.Fatal(err)
	}
	step("upload over an existing file, confirmed",
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{local}),
		chromedp.WaitVisible(chromedp.ID("ask-ok")),
		chromedp.Click(chromedp.ID("ask-ok")))
	for deadline := time.Now().Add(30 * time.Second); ; {
		if got, _ := os.ReadFile(filepath.Join(home, "report 2026.bin")); bytes.Equal(got, content2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("confirmed replacement did not reach the server")
		}
		time.Sleep(50 * time.Millisecond)
	}

	step("make a folder",
		chromedp.Click(chromedp.ID("new-folder")),
		chromedp.WaitVisible(chromedp.ID("ask-input")),
		chromedp.SetValue(chromedp.ID("ask-input"), "photos"),
		chromedp.Click(chromedp.ID("ask-ok")),
		chromedp.WaitVisible(row("photos")))
	if fi, err := os.Stat(filepath.Join(home, "photos")); err != nil || !fi.IsDir() {
		t.Fatalf("folder not made: %v", err)
	}

	step("rename",
		chromedp.Click(chromedp.CSS(`#listing tr[data-name="dropped.txt"] button.rename`)),
		chromedp.WaitVisible(chromedp.ID("ask-input")),
		chromedp.SetValue(chromedp.ID("ask-input"), "notes.txt"),
		chromedp.Click(chromedp.ID("ask-ok")),
		chromedp.WaitVisible(row("notes.txt")),
		chromedp.WaitNotPresent(row("dropped.txt")))
	if got, _ := os.ReadFile(filepath.Join(home, "notes.txt")); string(got) != "dropped bytes" {
		t.Fatalf("renamed file holds %q", got)
	}

	shot(t, ctx, filepath.Join(artifacts, "file-browser.png"))

	step("cancel a delete",
		chromedp.Click(chromedp.CSS(`#listing tr[data-name="notes.txt"] button.delete`)),
		chromedp.WaitVisible(chromedp.ID("ask-ok")),
		chromedp.Click(chromedp.CSS(`#ask button[value="cancel"]`)),
		chromedp.WaitNotVisible(chromedp.ID("ask")))
	if _, err := os.Stat(filepath.Join(home, "notes.txt")); err != nil {
		t.Fatal("cancelled delete removed the file")
	}
	step("delete with confirmation",
		chromedp.Click(chromedp.CSS(`#listing tr[data-name="notes.txt"] button.delete`)),
		chromedp.WaitVisible(chromedp.ID("ask-ok")),
		chromedp.Click(chromedp.ID("ask-ok")),
		chromedp.WaitNotPresent(row("notes.txt")))
	if _, err := os.Stat(filepath.Join(home, "notes.txt")); err == nil {
		t.Fatal("deleted file still on the server")
	}

	step("open the folder and go back by the breadcrumbs",
		chromedp.Click(chromedp.CSS(`#listing tr[data-name="photos"] a.dir`)),
		chromedp.WaitVisible(chromedp.CSS(`#crumbs a[href="#/photos"]`)),
		chromedp.Click(chromedp.CSS(`#crumbs a[href="#/"]`)),
		chromedp.WaitVisible(row("report 2026.bin")))

	step("phone width", chromedp.EmulateViewport(390, 844), chromedp.WaitVisible(row("report 2026.bin")))
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("page is %d px wide on a 390 px screen: it scrolls sideways", width)
	}
	shot(t, ctx, filepath.Join(artifacts, "file-browser-phone.png"))

	step("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
	step("the file browser needs a login again", chromedp.Navigate(ts.base+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))

	// A read-only user sees the files but no control that writes.
	step("log in as a read-only user",
		chromedp.SetValue(chromedp.ID("user"), "viewer"),
		chromedp.SetValue(chromedp.ID("password"), testserver.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(row("seen.txt")))
	writers, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#file-input, #new-folder, button.rename, button.delete").length`))
	if err != nil {
		t.Fatal(err)
	}
	if writers != 0 {
		t.Errorf("a read-only user sees %d write controls", writers)
	}
}

// shot saves a full-page PNG screenshot (quality 100 means PNG) as a test
// artifact.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}
