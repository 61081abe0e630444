package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// The hostile tests send this many wrong-password requests in each burst.
const guesses = 150

// rssLimit bounds the server's peak resident memory through the bursts.
// Each argon2id check holds 19 MiB; before password checks were bounded,
// 150 parallel guesses over one HTTP/2 connection took the server to
// 3.2 GB.
const rssLimit = 300 << 20

// peakRSS returns the peak resident set (VmHWM) of process pid in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// logCounts waits until the server has logged at least failed checked
// passwords ("login failed": one line each), then returns that count and
// how many refusals without a check the log accounts for. Refusals repeat
// as fast as a client sends them, so the core rate-limits their lines:
// the first of a kind is logged, the rest are summed up in a later
// "(repeated)" line; only whether they are logged is checked here.
func logCounts(t *testing.T, s *server, failed int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := s.Logs()
		n := map[string]int{
			"failed": strings.Count(l, `msg="login failed"`),
			"locked": strings.Count(l, `reason="locked out"`),
			"busy":   strings.Count(l, `reason=busy`),
		}
		if n["failed"] >= failed || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostileServer starts a server whose connection limits let every guess
// reach the password check, so that only auth bounds the work. Password
// checks run 4 at once, the default on the 2-core machines CI runs on, so
// the memory bound does not depend on the machine.
func hostileServer(t *testing.T, mutate func(c *config.Config)) *server {
	s := newServer(t, func(c *config.Config) {
		c.Limits.PasswordHashes = 4
		c.Limits.MaxConnectionsPerIP = 2 * guesses
		c.Limits.MaxPrelogin = 2 * guesses
		c.Limits.MaxPreloginPerIP = 2 * guesses
		if mutate != nil {
			mutate(c)
		}
	})
	s.addUser("victim", "the-right-password")
	s.start()
	return s
}

// curlBurst sends n wrong-password requests with one curl, all at once,
// each on its own connection, and returns how many got each status and the
// Retry-After values seen.
func curlBurst(t *testing.T, s *server, n int) (codes map[string]int, retry map[string]int) {
	t.Helper()
	url := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	args := []string{"-sS", "-k", "--max-time", "30", "--parallel", "--parallel-immediate", "--parallel-max", strconv.Itoa(n),
		"-u", "victim:wrong", "-w", `%{http_code} %header{retry-after}\n`}
	for range n {
		args = append(args, "-o", "/dev/null", url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Errorf("curl: %v\n%s", err, stderr.String())
	}
	codes, retry = map[string]int{}, map[string]int{}
	for line := range strings.Lines(string(out)) {
		code, after, _ := strings.Cut(strings.TrimSpace(line), " ")
		codes[code]++
		if after != "" {
			retry[code+" Retry-After "+after]++
		}
	}
	return codes, retry
}

// TestHostileAuthBurst: 150 wrong-password requests in parallel over 150
// connections from 127.0.0.1, then 150 pipelined on one keep-alive
// connection from 127.0.0.2. Each address gets at most
// lockout.max_failures passwords checked, the rest are refused unhashed
// with 429, and the server's peak RSS stays under 300 MB.
func TestHostileAuthBurst(t *testing.T) {
	testutil.Need(t, "curl")
	start := time.Now()
	s := hostileServer(t, nil)
	maxFailures := s.Cfg.Lockout.MaxFailures

	codes, _ := curlBurst(t, s, guesses)
	logs := logCounts(t, s, codes["401"])
	t.Logf("parallel burst from 127.0.0.1: statuses %v; log %v", codes, logs)
	if codes["401"]+codes["429"] != guesses || codes["401"] == 0 || codes["401"] > maxFailures {
		t.Errorf("parallel burst: statuses %v; want %d in all, 1..%d of them 401 and the rest 429", codes, guesses, maxFailures)
	}
	if logs["failed"] != codes["401"] || codes["429"] > 0 && logs["locked"] == 0 {
		t.Errorf("parallel burst: log %v does not match statuses %v", logs, codes)
	}

	statuses := pipelined(t, s, "127.0.0.2", guesses)
	logs2 := logCounts(t, s, logs["failed"]+1)
	failed := logs2["failed"] - logs["failed"]
	t.Logf("pipelined burst from 127.0.0.2: %d passwords checked, log %v", failed, logs2)
	hashed := 0
	for i, st := range statuses {
		switch {
		case st == http.StatusUnauthorized && i == hashed:
			hashed++
		case st != http.StatusTooManyRequests:
			t.Fatalf("pipelined request %d: status %d after %d 401s; want 401s then 429s", i, st, hashed)
		}
	}
	if hashed == 0 || hashed > maxFailures || failed != hashed {
		t.Errorf("pipelined burst: %d answered 401, %d logged as checked; want 1..%d and equal", hashed, failed, maxFailures)
	}

	rss := peakRSS(t, s.PID())
	t.Logf("server peak RSS (VmHWM) %.1f MiB; test took %v", float64(rss)/(1<<20), time.Since(start).Round(time.Millisecond))
	if rss > rssLimit {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", rss>>20, rssLimit>>20)
	}
}

// TestHostileAuthBusy: with the lockout off only limits.password_hashes
// bounds the work: a burst gets most of its logins refused with 503 and
// Retry-After, unhashed, and memory stays bounded.
func TestHostileAuthBusy(t *testing.T) {
	testutil.Need(t, "curl")
	s := hostileServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 0
		c.Limits.PasswordHashes = 1
		c.Limits.PasswordWait = config.Duration{Duration: 100 * time.Millisecond}
	})
	codes, retry := curlBurst(t, s, guesses)
	logs := logCounts(t, s, codes["401"])
	t.Logf("burst with the lockout off, 1 check at once: statuses %v %v; log %v", codes, retry, logs)
	if codes["401"]+codes["503"] != guesses || codes["503"] == 0 {
		t.Errorf("statuses %v; want %d of 401 or 503, some 503", codes, guesses)
	}
	if retry["503 Retry-After 1"] != codes["503"] {
		t.Errorf("503s without Retry-After: 1: %v", retry)
	}
	if logs["failed"] != codes["401"] || codes["503"] > 0 && logs["busy"] == 0 {
		t.Errorf("log %v does not match statuses %v", logs, codes)
	}
	if rss := peakRSS(t, s.PID()); rss > rssLimit {
		t.Errorf("server peak RSS %d MiB, want under %d MiB", rss>>20, rssLimit>>20)
	} else {
		t.Logf("server peak RSS (VmHWM) %.1f MiB", float64(rss)/(1<<20))
	}
}

// pipelined writes n wrong-password requests at once on one TLS
// connection from local address from, as HTTP/1.1 pipelining allows, and
// returns the statuses of the n responses in order.
func pipelined(t *testing.T, s *server, from string, n int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := tls.Dialer{
		NetDialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}},
		Config:    &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}},
	}
	c, err := d.DialContext(ctx, "tcp", s.addr(s.Cfg.HTTP.HTTPSPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	authz := base64.StdEncoding.EncodeToString([]byte("victim:wrong"))
	var reqs strings.Builder
	for range n {
		fmt.Fprintf(&reqs, "GET /api/v1/files/ HTTP/1.1\r\nHost: ferry\r\nAuthorization: Basic %s\r\n\r\n", authz)
	}
	go c.Write([]byte(reqs.String()))
	br := bufio.NewReader(c)
	statuses := make([]int, 0, n)
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("pipelined response %d: %v", len(statuses), err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses
}
