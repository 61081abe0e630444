package notify

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

const secret = "test-secret"

func TestMain(m *testing.M) {
	if os.Getenv("NOTIFY_HELPER_OUT") != "" && len(os.Args) > 1 && os.Args[1] == "notify-helper" {
		helper()
		return
	}
	firstRetry, pollEvery = 50*time.Millisecond, 50*time.Millisecond
	os.Exit(m.Run())
}

// helper is the command of TestCommand: the test binary run again, which
// writes its arguments and the event's environment to NOTIFY_HELPER_OUT.
func helper() {
	out := map[string]any{"args": os.Args[2:], "path": os.Getenv("FERRY_PATH"), "user": os.Getenv("FERRY_USER"),
		"event": os.Getenv("FERRY_EVENT"), "remote": os.Getenv("FERRY_REMOTE"), "json": os.Getenv("FERRY_EVENT_JSON")}
	b, _ := json.Marshal(out)
	os.WriteFile(filepath.Join(os.Getenv("NOTIFY_HELPER_OUT"), "out-"+os.Getenv("FERRY_EVENT_ID")+".json"), b, 0o600)
	os.Stdout.WriteString("helper ran\n")
}

// receiver is an HTTPS webhook receiver that verifies every signature
// and counts the posts per event id; while down it answers 503.
type receiver struct {
	t    *testing.T
	srv  *httptest.Server
	ca   string // its certificate's PEM file
	down atomic.Bool
	bad  atomic.Int64 // posts with a bad signature or body

	mu    sync.Mutex
	posts map[string]int // event id -> 2xx answers
	seen  []Event
	tries atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, posts: map[string]int{}}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(rc.handle))
	t.Cleanup(rc.srv.Close)
	rc.ca = filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
	if err := os.WriteFile(rc.ca, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *receiver) handle(w http.ResponseWriter, r *http.Request) {
	rc.tries.Add(1)
	if rc.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var e Event
	if err := Verify([]byte(secret), body, r.Header.Get(HeaderSignature), time.Now(), 5*time.Minute); err != nil ||
		json.Unmarshal(body, &e) != nil || e.ID != r.Header.Get(HeaderEventID) || e.Event != r.Header.Get(HeaderEvent) ||
		r.Header.Get("Content-Type") != "application/json" {
		rc.bad.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	rc.posts[e.ID]++
	rc.seen = append(rc.seen, e)
	rc.mu.Unlock()
}

// delivered is a copy of the posts per event id.
func (rc *receiver) delivered() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]int{}
	for k, v := range rc.posts {
		m[k] = v
	}
	return m
}

func hookRule(rc *receiver, mutate func(*config.Notify)) config.Config {
	c := config.Default()
	n := config.Notify{Name: "hook", On: []string{"upload", "ban"}, Paths: []string{"/incoming/*"}, Webhook: rc.srv.URL + "/hook?token=x", Secret: secret, CAFile: rc.ca}
	if mutate != nil {
		mutate(&n)
	}
	c.Notify = []config.Notify{n}
	return *c
}

func upload(p string) *core.Record {
	return &core.Record{Time: time.Now().UTC(), Kind: core.EventUpload, Session: 7, Service: listen.FTP, Remote: netip.MustParseAddrPort("192.0.2.5:4000"),
		User: "alice", Path: p, Bytes: 3, Result: core.ResultOK}
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newNotifier(t *testing.T, cfg config.Config, st store.Store, logs *testutil.Buffer) *Notifier {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := New(&cfg, st, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMatches: a rule fires on its kinds, for its users and paths (a
// pattern matching the path or a folder above it, or a rename's
// target), and on completed file events only.
func TestMatches(t *testing.T) {
	rule := config.Notify{On: []string{"upload", "rename", "login.failed", "ban"}, Users: []string{"partner-*"}, Paths: []string{"/incoming/*"}}
	open := config.Notify{On: []string{"upload", "ban", "login.failed"}}
	rec := func(kind, user, p, target, result string) *core.Record {
		return &core.Record{Kind: kind, User: user, Path: p, Target: target, Result: result}
	}
	for _, tc := range []struct {
		n    *config.Notify
		r    *core.Record
		want bool
	}{
		{&rule, rec("upload", "partner-a", "/incoming/x.txt", "", "ok"), true},
		{&rule, rec("upload", "partner-a", "/incoming/sub/x.txt", "", "ok"), true},
		{&rule, rec("upload", "partner-a", "/incoming", "", "ok"), false},
		{&rule, rec("upload", "partner-a", "/outgoing/x.txt", "", "ok"), false},
		{&rule, rec("upload", "partner-a", "/incoming/x.txt", "", "aborted"), false},
		{&rule, rec("upload", "alice", "/incoming/x.txt", "", "ok"), false},
		{&rule, rec("download", "partner-a", "/incoming/x.txt", "", "ok"), false},
		{&rule, rec("rename", "partner-a", "/tmp/x", "/incoming/x", "ok"), true},
		{&rule, rec("login.failed", "partner-a", "", "", ""), false}, // the rule has paths
		{&open, rec("login.failed", "anyone", "", "", ""), true},
		{&open, rec("ban", "", "", "", ""), true},
		{&open, rec("upload", "", "/x", "", "failed"), false},
	} {
		if got := matches(tc.n, tc.r); got != tc.want {
			t.Errorf("rule %v on %+v: %v, want %v", tc.n.On, tc.r, got, tc.want)
		}
	}
}

// TestSignature: Verify accepts what Sign made, and refuses another
// body, another key, a stale time and a malformed header.
func TestSignature(t *testing.T) {
	body, now := []byte(`{"id":"1"}`), time.Now()
	h := Sign([]byte("k"), body, now)
	if err := Verify([]byte("k"), body, h, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, body, header string
		at                time.Time
	}{
		{"k", `{"id":"2"}`, h, now},
		{"other", string(body), h, now},
		{"k", string(body), h, now.Add(2 * time.Minute)},
		{"k", string(body), "v1=" + strings.Split(h, "v1=")[1], now},
		{"k", string(body), "", now},
	} {
		if err := Verify([]byte(tc.key), []byte(tc.body), tc.header, tc.at, time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%+v: %v, want ErrBadSignature", tc, err)
		}
	}
}

// TestWebhookExactlyOnce: twenty uploads reach a receiver that is down,
// then the notifier stops (a restart) while they wait; a new notifier on
// the same store delivers each exactly once, signed, once the receiver
// is back, and the queue is empty afterwards.
func TestWebhookExactlyOnce(t *testing.T) {
	rc := newReceiver(t)
	rc.down.Store(true)
	dir := t.TempDir()
	st := openStore(t, dir)
	logs := &testutil.Buffer{}
	cfg := hookRule(rc, nil)
	n := newNotifier(t, cfg, st, logs)
	for i := range 20 {
		n.Record(upload("/incoming/f" + string(rune('a'+i))))
	}
	n.Record(upload("/outgoing/not-this-one"))
	waitFor(t, "the receiver was tried while down", 10*time.Second, func() bool { return rc.tries.Load() >= 20 })
	n.Close()
	if pending, _ := st.NotifyPending(context.Background()); pending != 20 {
		t.Fatalf("%d notifications queued after a stop, want 20", pending)
	}
	rc.down.Store(false)
	n2 := newNotifier(t, cfg, openStore(t, dir), logs)
	waitFor(t, "20 events delivered", 20*time.Second, func() bool { return len(rc.delivered()) == 20 })
	waitFor(t, "an empty queue", 5*time.Second, func() bool { p, _ := st.NotifyPending(context.Background()); return p == 0 })
	time.Sleep(300 * time.Millisecond) // several polls: nothing more comes
	n2.Close()
	for id, k := range rc.delivered() {
		if k != 1 {
			t.Errorf("event %s delivered %d times", id, k)
		}
	}
	if rc.bad.Load() != 0 {
		t.Fatalf("%d posts with a bad signature", rc.bad.Load())
	}
	rc.mu.Lock()
	e := rc.seen[0]
	rc.mu.Unlock()
	if e.Event != "upload" || e.User != "alice" || e.Remote != "192.0.2.5" || e.Service != "ftp" || e.Bytes != 3 || e.Rule != "hook" ||
		!strings.HasPrefix(e.Path, "/incoming/f") {
		t.Fatalf("event: %+v", e)
	}
	if strings.Contains(logs.String(), "token=x") || strings.Contains(logs.String(), secret) {
		t.Fatalf("the log shows the webhook's token or secret:\n%s", logs)
	}
}

// TestQueueBound: with the receiver down, 120 events into a queue of 30
// keep the newest 30 and say so in the log.
func TestQueueBound(t *testing.T) {
	defer func(q int, r time.Duration) { queueMax, firstRetry = q, r }(queueMax, firstRetry)
	queueMax, firstRetry = 30, time.Hour
	rc := newReceiver(t)
	rc.down.Store(true)
	st := openStore(t, t.TempDir())
	logs := &testutil.Buffer{}
	n := newNotifier(t, hookRule(rc, nil), st, logs)
	for i := range 120 {
		r := upload("/incoming/f")
		r.Bytes = int64(i)
		n.Record(r)
	}
	n.Close()
	if !strings.Contains(logs.String(), "the webhook queue is full") {
		t.Fatalf("no warning of the drops:\n%s", logs)
	}
	rows, err := st.NotifyClaim(context.Background(), time.Now().Add(2*time.Hour), time.Minute, 1000)
	if err != nil || len(rows) != 30 {
		t.Fatalf("%d rows queued (%v), want the bound of 30", len(rows), err)
	}
	for _, row := range rows {
		var e Event
		if err := json.Unmarshal(row.Body, &e); err != nil || e.Bytes < 90 {
			t.Fatalf("an old event (%d) was kept over a newer one (%v)", e.Bytes, err)
		}
	}
}

// TestHostileReceivers: a receiver that redirects, one that never
// answers and one whose certificate is not trusted count as failures,
// each within the rule's timeout, and no redirect is followed; an endless
// answer is read only up to its limit.
func TestHostileReceivers(t *testing.T) {
	var redirected atomic.Int64
	target := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	defer target.Close()
	hang := make(chan struct{})
	defer close(hang)
	rc := newReceiver(t)
	rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/endless":
			chunk := make([]byte, 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	})
	for _, tc := range []struct {
		path string
		ca   bool
		ok   bool
	}{{"/redirect", true, false}, {"/hang", true, false}, {"/endless", true, true}, {"/untrusted", false, false}} {
		cfg := hookRule(rc, func(n *config.Notify) {
			n.Webhook = rc.srv.URL + tc.path
			n.Timeout = config.Duration{Duration: time.Second}
			if !tc.ca {
				n.CAFile = ""
			}
		})
		start := time.Now()
		err := Test(context.Background(), &cfg, "hook", io.Discard)
		if took := time.Since(start); (err == nil) != tc.ok || took > 3*time.Second {
			t.Errorf("%s: %v after %s, want ok=%v within the 1s timeout", tc.path, err, took, tc.ok)
		}
	}
	if redirected.Load() != 0 {
		t.Fatal("a redirect was followed")
	}
}

// TestCommand: a command rule runs its program without a shell: a file
// name holding $(...), ; and quotes reaches it unchanged in FERRY_PATH,
// the arguments are the configured ones, and nothing of the name ran.
func TestCommand(t *testing.T) {
	out := t.TempDir() + "/"
	t.Setenv("NOTIFY_HELPER_OUT", out)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Notify = []config.Notify{{Name: "run", On: []string{"upload"}, Command: []string{exe, "notify-helper", "$FERRY_PATH", "a b"}}}
	logs := &testutil.Buffer{}
	n := newNotifier(t, *c, openStore(t, t.TempDir()), logs)
	name := "/in/$(touch ${NOTIFY_HELPER_OUT}pwned);touch ${NOTIFY_HELPER_OUT}pwned2;`touch x` '\".txt"
	n.Record(upload(name))
	var got struct {
		Args                      []string
		Path, User, Event, Remote string
		JSON                      string
	}
	waitFor(t, "the command ran", 10*time.Second, func() bool {
		m, _ := filepath.Glob(out + "out-*.json")
		if len(m) != 1 {
			return false
		}
		b, err := os.ReadFile(m[0])
		return err == nil && json.Unmarshal(b, &got) == nil
	})
	var e Event
	if err := json.Unmarshal([]byte(got.JSON), &e); err != nil || e.Path != name {
		t.Fatalf("FERRY_EVENT_JSON %q: %v", got.JSON, err)
	}
	if got.Path != name || got.User != "alice" || got.Event != "upload" || got.Remote != "192.0.2.5" ||
		len(got.Args) != 2 || got.Args[0] != "$FERRY_PATH" || got.Args[1] != "a b" {
		t.Fatalf("the command got %+v", got)
	}
	for _, p := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(out + p); err == nil {
			t.Fatalf("%s exists: the file name was run by a shell", p)
		}
	}
	waitFor(t, "the output logged", 5*time.Second, func() bool { return strings.Contains(logs.String(), "helper ran") })
}

// TestCommandTimeout: a command past its timeout is killed, logged as
// such, and the runners stay free for the next.
func TestCommandTimeout(t *testing.T) {
	c := config.Default()
	c.Notify = []config.Notify{{Name: "slow", On: []string{"upload"}, Command: []string{"/bin/sleep", "30"}, Timeout: config.Duration{Duration: 300 * time.Millisecond}}}
	logs := &testutil.Buffer{}
	n := newNotifier(t, *c, openStore(t, t.TempDir()), logs)
	start := time.Now()
	for range runners * 2 {
		n.Record(upload("/x"))
	}
	waitFor(t, "every command killed", 10*time.Second, func() bool { return strings.Count(logs.String(), "timed out after 300ms") == runners*2 })
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("%d commands of 300ms with %d runners took %s", runners*2, runners, took)
	}
}

// TestEventsTest: `ferry events test` posts one signed sample marked as a
// test, and names a missing rule.
func TestEventsTest(t *testing.T) {
	rc := newReceiver(t)
	cfg := hookRule(rc, nil)
	var out strings.Builder
	if err := Test(context.Background(), &cfg, "hook", &out); err != nil {
		t.Fatal(err)
	}
	if len(rc.delivered()) != 1 || !rc.seen[0].Test || rc.seen[0].Event != "upload" || !strings.Contains(out.String(), "delivered") || strings.Contains(out.String(), "token=") {
		t.Fatalf("sample: %+v, output %q", rc.seen, out.String())
	}
	if err := Test(context.Background(), &cfg, "nope", &out); !errors.Is(err, ErrNoRule) {
		t.Fatalf("missing rule: %v", err)
	}
}
