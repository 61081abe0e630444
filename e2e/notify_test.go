package e2e

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/notify"
)

// hookReceiver is a webhook receiver over HTTPS as a partner would run
// one: it verifies each post's signature and time, and counts the
// deliveries of each event id and path; while down it answers 503.
type hookReceiver struct {
	srv    *httptest.Server
	secret []byte
	down   atomic.Bool
	tries  atomic.Int64
	bad    atomic.Int64

	mu     sync.Mutex
	byID   map[string]int
	byPath map[string]int
	tests  int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.tries.Add(1)
	if h.down.Load() {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var e notify.Event
	if err := notify.Verify(h.secret, body, r.Header.Get(notify.HeaderSignature), time.Now(), 5*time.Minute); err != nil ||
		json.Unmarshal(body, &e) != nil || e.ID == "" || e.ID != r.Header.Get(notify.HeaderEventID) {
		h.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Test {
		h.tests++
		return
	}
	h.byID[e.ID]++
	h.byPath[e.Path]++
}

func (h *hookReceiver) paths() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := map[string]int{}
	for k, v := range h.byPath {
		m[k] = v
	}
	return m
}

// TestNotifyWebhookExactlyOnce drives the real binary: uploads over FTPS
// (curl) into /incoming fire a [[notify]] webhook whose receiver is down,
// ferry is killed (SIGKILL) and started again while they wait in the
// queue, one more upload comes, and once the receiver is back each
// completed upload is delivered exactly once, signed. A command rule on
// the same uploads gets a file name holding $(...) and ; unchanged in
// FERRY_PATH, and nothing of it runs. `ferry events test` sends a sample.
func TestNotifyWebhookExactlyOnce(t *testing.T) {
	testutil.Need(t, "curl", "python3")
	dir := t.TempDir()
	h := &hookReceiver{secret: []byte("shared hook secret"), byID: map[string]int{}, byPath: map[string]int{}}
	h.srv = httptest.NewTLSServer(h)
	defer h.srv.Close()
	h.down.Store(true)
	caFile, secretFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "hook.secret")
	must(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}), 0o600))
	must(t, os.WriteFile(secretFile, append(h.secret, '\n'), 0o600))
	// The command records what it was given; a shell parsing the file
	// name would create the pwned files.
	pwned := filepath.Join(dir, "pwned") + "/"
	must(t, os.Mkdir(pwned, 0o700))
	t.Setenv("PWNED_DIR", pwned)
	script := filepath.Join(dir, "record.py")
	must(t, os.WriteFile(script, []byte(`import os, sys, json
with open(os.path.join(sys.argv[1], os.environ["FERRY_EVENT_ID"]), "w") as f:
    json.dump({"path": os.environ["FERRY_PATH"], "user": os.environ["FERRY_USER"], "argv": sys.argv[2:]}, f)
`), 0o600))
	got := filepath.Join(dir, "got")
	must(t, os.Mkdir(got, 0o700))

	s := newServer(t, func(c *config.Config) {
		c.Notify = []config.Notify{
			{Name: "partner-in", On: []string{"upload"}, Users: []string{"alice"}, Paths: []string{"/incoming/*"},
				Webhook: h.srv.URL + "/ferry", SecretFile: secretFile, CAFile: caFile, Timeout: config.Duration{Duration: 5 * time.Second}},
			{Name: "record", On: []string{"upload"}, Paths: []string{"/incoming"}, Command: []string{"/usr/bin/python3", script, got, "$FERRY_PATH;x"}},
		}
	})
	const pw = "notify-pw"
	home := s.addUser("alice", pw)
	must(t, os.MkdirAll(filepath.Join(home, "incoming"), 0o755))
	local := filepath.Join(dir, "data.bin")
	must(t, os.WriteFile(local, testutil.RandomBytes(10000, 3), 0o600))
	put := func(name string) {
		t.Helper()
		if out, err := run(t, "", "curl", "-sS", "--ssl-reqd", "-k", "-u", "alice:"+pw, "-T", local,
			"ftp://"+s.addr(s.Cfg.FTP.Port)+"/"+url.PathEscape(strings.TrimPrefix(name, "/"))); err != nil {
			t.Fatalf("upload %s: %v\n%s", name, err, out)
		}
	}
	hostile := "/incoming/$(touch ${PWNED_DIR}a);touch ${PWNED_DIR}b;`touch ${PWNED_DIR}c`.txt"
	s.start()
	put("/incoming/a.txt")
	put("/incoming/b c ü.txt")
	put(hostile)
	put("/outgoing-not-notified.txt")
	if !waitUntil(20*time.Second, func() bool { return h.tries.Load() >= 3 }) {
		t.Fatalf("the receiver was not tried while down (%d tries)", h.tries.Load())
	}
	s.kill() // a crash: nothing is flushed
	s.start()
	put("/incoming/after restart.txt")
	time.Sleep(time.Second)
	h.down.Store(false)
	want := []string{"/incoming/a.txt", "/incoming/b c ü.txt", hostile, "/incoming/after restart.txt"}
	if !waitUntil(60*time.Second, func() bool { return len(h.paths()) == len(want) }) {
		t.Fatalf("delivered %v after 60s, want %v", h.paths(), want)
	}
	time.Sleep(3 * time.Second) // a few polls more: no repeat comes
	paths := h.paths()
	for _, p := range want {
		if paths[p] != 1 {
			t.Errorf("%s delivered %d times, want once (all: %v)", p, paths[p], paths)
		}
	}
	h.mu.Lock()
	for id, n := range h.byID {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	h.mu.Unlock()
	if h.bad.Load() != 0 || len(paths) != len(want) {
		t.Fatalf("%d posts with a bad signature; delivered %v", h.bad.Load(), paths)
	}

	// The command: one run per upload under /incoming (before the kill
	// or after), the hostile name unchanged, its argument not expanded.
	if !waitUntil(10*time.Second, func() bool { m, _ := filepath.Glob(got + "/*"); return len(m) >= 2 }) {
		t.Fatal("the command did not run")
	}
	found := false
	files, _ := filepath.Glob(got + "/*")
	for _, f := range files {
		var rec struct {
			Path, User string
			Argv       []string
		}
		b, _ := os.ReadFile(f)
		must(t, json.Unmarshal(b, &rec))
		if rec.User != "alice" || len(rec.Argv) != 1 || rec.Argv[0] != "$FERRY_PATH;x" {
			t.Fatalf("the command got %+v", rec)
		}
		found = found || rec.Path == hostile
	}
	if !found {
		t.Fatalf("no command run saw the file name %q unchanged", hostile)
	}
	if m, _ := filepath.Glob(pwned + "*"); len(m) != 0 {
		t.Fatalf("a shell ran the file name: %v", m)
	}

	if out, err := s.ferry("", "events", "test", "partner-in"); err != nil || !strings.Contains(out, "delivered") {
		t.Fatalf("ferry events test: %v\n%s", err, out)
	}
	if out, err := s.ferry("", "events", "test", "nope"); err == nil || !strings.Contains(out, "nope") {
		t.Fatalf("ferry events test of a missing rule: %v\n%s", err, out)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tests != 1 {
		t.Fatalf("%d samples received, want 1", h.tests)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// TestNotifyBan: the defender's ban is an event: a [[notify]] rule on
// "ban" runs its command with the banned address, and the audit log has
// a ban line.
func TestNotifyBan(t *testing.T) {
	testutil.Need(t, "curl", "python3")
	dir := t.TempDir()
	out := filepath.Join(dir, "ban.json")
	script := filepath.Join(dir, "ban.py")
	must(t, os.WriteFile(script, []byte(`import os, sys, json
json.dump({k: os.environ.get(k, "") for k in ("FERRY_EVENT", "FERRY_REMOTE", "FERRY_REASON", "FERRY_USER")}, open(sys.argv[1], "w"))
`), 0o600))
	s := newServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 3
		c.Notify = []config.Notify{{Name: "bans", On: []string{"ban"}, Command: []string{"/usr/bin/python3", script, out}}}
	})
	s.addUser("alice", "right-password")
	s.start()
	for range 3 {
		run(t, "", "curl", "-sS", "-k", "-o", "/dev/null", "-u", "alice:wrong", "https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/")
	}
	var got map[string]string
	if !waitUntil(20*time.Second, func() bool {
		b, err := os.ReadFile(out)
		return err == nil && json.Unmarshal(b, &got) == nil
	}) {
		t.Fatalf("the ban command did not run:\n%s", s.Logs())
	}
	if got["FERRY_EVENT"] != "ban" || got["FERRY_REMOTE"] != "127.0.0.1" || got["FERRY_REASON"] != "login.failed" {
		t.Fatalf("the ban command got %v", got)
	}
	audit, _ := os.ReadFile(s.Cfg.AuditPath())
	if !strings.Contains(string(audit), `"event":"ban"`) {
		t.Fatalf("no ban in the audit log:\n%s", audit)
	}
}
