package web

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// cutProxy relays TCP connections to target and, when more than at bytes
// went from the clients to target, closes every connection it relays: a
// connection dropped in the middle of an upload. It cuts twice, 2 MiB
// apart, since Chromium sends a request again by itself, once, when a
// connection it reused drops.
type cutProxy struct {
	ln     net.Listener
	target string
	at     int64
	sent   atomic.Int64
	cuts   atomic.Int32
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string, at int64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, at: at, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	go p.serve()
	return p
}

func (p *cutProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

func (p *cutProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.track(c, s)
		go func() { io.Copy(c, s); c.Close() }()
		go func() {
			defer s.Close()
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
					sent, cuts := p.sent.Add(int64(n)), p.cuts.Load()
					if cuts < 2 && sent > p.at+int64(cuts)*(2<<20) && p.cuts.CompareAndSwap(cuts, cuts+1) {
						p.closeAll()
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// TestBrowserResumedUpload: the web client sends a large file in chunks;
// when the connection drops in the middle of one, it says so ("resumed
// at"), sends that chunk again, and the file arrives byte for byte, under
// its name only once whole.
func TestBrowserResumedUpload(t *testing.T) {
	exe := testutil.NeedOne(t, "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
	ts := startServer(t, nil)
	home := ts.addUser("web", false)
	content := testutil.RandomBytes(40<<20, 13) // three chunks of the client's 16 MiB
	local := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(local, content, 0o644); err != nil {
		t.Fatal(err)
	}
	// The cut falls in the second chunk.
	proxy := newCutProxy(t, strings.TrimPrefix(ts.base, "https://"), 24<<20)
	base := "https://" + proxy.ln.Addr().String()

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
		chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash(t, ts)),
		chromedp.WindowSize(1200, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()
	artifacts := artifactDir(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(t, ctx, filepath.Join(artifacts, "browser-resume-failure.png"))
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, ts.Logs)
		}
	}
	step("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("user"), "web"),
		chromedp.SetValue(chromedp.ID("password"), testserver.Password),
		chromedp.Submit(chromedp.ID("login-form")),
		chromedp.WaitVisible(chromedp.ID("listing")),
		chromedp.WaitReady(chromedp.ID("file-input")))
	step("upload, cut, resume",
		chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{local}),
		chromedp.WaitVisible(chromedp.CSS(".upload.resumed")),
		chromedp.WaitVisible(chromedp.CSS(".upload.resumed.done")),
		chromedp.WaitVisible(chromedp.CSS(`#listing tr[data-name="big.bin"]`)))
	if n := proxy.cuts.Load(); n != 2 {
		t.Fatalf("the proxy cut the connections %d times, want 2", n)
	}
	note, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(".upload.resumed .note")))
	if err != nil || !strings.Contains(note, "resumed at 16.0 MiB") {
		t.Errorf("the upload's note: %q (%v), want it resumed at 16.0 MiB", note, err)
	}
	shot(t, ctx, filepath.Join(artifacts, "browser-resumed-upload.png"))
	if got, err := os.ReadFile(filepath.Join(home, "big.bin")); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the resumed upload differs (%d bytes, %v)", len(got), err)
	}
	if names := testutil.Home(t, home); len(names) != 1 {
		t.Errorf("home holds %v, want only big.bin", names)
	}
}
