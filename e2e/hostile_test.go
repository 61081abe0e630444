package e2e

// Hostile load: what strangers can do to the server without a password,
// and what one user can do to the others. Every test is bounded in count
// and time and sends traffic to loopback only (127.0.0.0/8): attackers
// dial from their own source addresses 127.N.x.y (net.Dialer.LocalAddr),
// legitimate clients from 127.0.0.1.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testutil"
	"golang.org/x/crypto/ssh"
)

// hostileAddr is the i-th attacker source address of one test, numbered
// by block: 127.block.(i/250).(1+i%250). Block 0 is never used, so no
// attacker shares 127.0.0.1 with the legitimate clients.
func hostileAddr(block byte, i int) *net.TCPAddr {
	if block == 0 || i < 0 || i >= 250*256 {
		panic("hostileAddr: outside 127.1-255.x.y")
	}
	return &net.TCPAddr{IP: net.IPv4(127, block, byte(i/250), byte(1+i%250))}
}

// dialFrom opens a TCP connection to addr from the loopback source src.
func dialFrom(src *net.TCPAddr, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{LocalAddr: src, Timeout: timeout}
	return d.Dial("tcp", addr)
}

// holdConns opens n connections in parallel batches of 100, the i-th from
// target(i), writes hello(i) on it when hello is set, and keeps them all
// open until the test ends. It returns how many connected.
func holdConns(t *testing.T, n int, target func(i int) (*net.TCPAddr, string), hello func(i int) []byte) int {
	t.Helper()
	const batch = 100
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	var failed atomic.Int64
	var firstErr atomic.Value
	for lo := 0; lo < n; lo += batch {
		var wg sync.WaitGroup
		for i := lo; i < min(lo+batch, n); i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				src, addr := target(i)
				c, err := dialFrom(src, addr, 3*time.Second)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				if hello != nil {
					c.SetWriteDeadline(time.Now().Add(time.Second))
					c.Write(hello(i)) // the server may have closed it already
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}(i)
		}
		wg.Wait()
	}
	if f := failed.Load(); f > 0 {
		t.Logf("%d of %d hostile connections could not be opened (first error: %v)", f, n, firstErr.Load())
	}
	return len(conns)
}

// ftpRaw is a bare FTP control connection, for what client.Conn does not
// expose (PASV itself, a greeting, the exact reply).
type ftpRaw struct {
	c net.Conn
	r *bufio.Reader
}

// dialFTPRaw connects from src (nil: the default source) to addr, with TLS
// from the first byte when implicit. It does not read the greeting.
func dialFTPRaw(src *net.TCPAddr, addr string, implicit bool, timeout time.Duration) (*ftpRaw, error) {
	c, err := dialFrom(src, addr, timeout)
	if err != nil {
		return nil, err
	}
	if implicit {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		tc.SetDeadline(time.Time{})
		c = tc
	}
	return &ftpRaw{c: c, r: bufio.NewReader(c)}, nil
}

// reply reads one complete reply, multi-line ones included.
func (f *ftpRaw) reply() (int, string, error) {
	f.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for {
		line, err := f.r.ReadString('\n')
		if err != nil {
			return 0, strings.Join(lines, " "), err
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(lines[0]) < 4 {
			return 0, line, fmt.Errorf("malformed reply %q", line)
		}
		if lines[0][3] != '-' || len(line) >= 4 && line[:3] == lines[0][:3] && line[3] == ' ' {
			break
		}
	}
	code, err := strconv.Atoi(lines[0][:3])
	if err != nil {
		return 0, lines[0], fmt.Errorf("malformed reply %q", lines[0])
	}
	return code, strings.Join(lines, "\n"), nil
}

// cmd sends one command line and reads its reply.
func (f *ftpRaw) cmd(line string) (int, string, error) {
	f.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(f.c, line+"\r\n"); err != nil {
		return 0, "", err
	}
	return f.reply()
}

func (f *ftpRaw) Close() error { return f.c.Close() }

// login reads the greeting and logs in; it returns the first reply that
// is not the expected one as an error.
func (f *ftpRaw) login(user, password string) error {
	if code, text, err := f.reply(); err != nil || code != 220 {
		return fmt.Errorf("greeting %q: %v", text, err)
	}
	if code, text, err := f.cmd("USER " + user); err != nil || code != 331 {
		return fmt.Errorf("USER: %q: %v", text, err)
	}
	if code, text, err := f.cmd("PASS " + password); err != nil || code != 230 {
		return fmt.Errorf("PASS: %q: %v", text, err)
	}
	return nil
}

// roundTrip logs in over scheme, uploads data to name, reads it back and
// compares, all within timeout.
func (s *server) roundTrip(scheme, user, password, name string, data []byte, timeout time.Duration) error {
	c, err := s.dial(scheme, user, password, timeout)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	defer c.Close()
	w, err := c.Create(name, 0)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	_, werr := w.Write(data)
	if err := errors.Join(werr, w.Close()); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	r, err := c.Open(name, 0)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	got, rerr := io.ReadAll(r)
	if err := errors.Join(rerr, r.Close()); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("downloaded %d bytes differ from the %d uploaded", len(got), len(data))
	}
	return nil
}

// legitSchemes are the protocols a legitimate user must always reach.
var legitSchemes = []string{"ftpes", "ftps", "sftp", "https"}

// TestHostileIdleConnections: 1000 TCP connections that never send a byte,
// from 200 addresses, over the FTP, implicit FTPS, SFTP and HTTPS ports,
// must not keep a legitimate user out: while they are open, a user logs
// in and moves a file over every protocol within 5 s each.
func TestHostileIdleConnections(t *testing.T) {
	raiseOpenFiles(t, 8192)
	s := newServer(t, nil)
	const pw = "idle-flood-legit-pw"
	s.addUser("alice", pw)
	s.start()
	s.logTail(150)
	ports := []int{s.Cfg.FTP.Port, s.Cfg.FTP.ImplicitPort, s.Cfg.SFTP.Port, s.Cfg.HTTP.HTTPSPort}
	const n = 1000
	// Five connections per address (under max_prelogin_per_ip), each
	// address over four or five ports.
	held := holdConns(t, n, func(i int) (*net.TCPAddr, string) { return hostileAddr(1, i/5), s.addr(ports[i%4]) }, nil)
	if held < n*9/10 {
		t.Fatalf("only %d of %d idle connections opened: the flood did not happen", held, n)
	}
	files := s.settle(5 * time.Second)
	t.Logf("%d idle connections open; server holds %d open files", held, files)
	data := testutil.RandomBytes(64<<10, 21)
	for _, scheme := range legitSchemes {
		t.Run(scheme, func(t *testing.T) {
			start := time.Now()
			err := s.roundTrip(scheme, "alice", pw, "/legit-"+scheme+".bin", data, 5*time.Second)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("with %d idle connections open, a legitimate %s login and transfer failed after %s: %v", held, scheme, took.Round(time.Millisecond), err)
			}
			if took > 5*time.Second {
				t.Fatalf("with %d idle connections open, a legitimate %s login and transfer took %s, want at most 5s", held, scheme, took.Round(time.Millisecond))
			}
			t.Logf("login and 64 KiB each way in %s", took.Round(time.Millisecond))
		})
	}
}

// settle waits until the server has taken in a flood: its count of open
// files stays the same for 300 ms (at most timeout). It returns the count.
func (s *server) settle(timeout time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	last, since := s.openFiles(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < 300*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if n := s.openFiles(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

// partialClientHello is the start of a TLS ClientHello that promises 256
// bytes and stops after 20.
func partialClientHello() []byte {
	return append([]byte{0x16, 0x03, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00, 0xfc, 0x03, 0x03}, testutil.RandomBytes(20, 22)...)
}

// TestHostileHalfOpenImplicitTLS: 3000 connections to the implicit FTPS
// port from one address that never finish the TLS handshake (half send
// nothing, half a partial ClientHello) cost the server at most
// limits.max_prelogin_per_ip sockets (+30 of slack): the limit is checked
// before the handshake. Another address still gets its 220 over TLS.
func TestHostileHalfOpenImplicitTLS(t *testing.T) {
	raiseOpenFiles(t, 8192)
	s := newServer(t, nil)
	s.start()
	s.logTail(150)
	time.Sleep(300 * time.Millisecond) // start's own probe connections end
	base := s.openFiles()
	limit := base + s.Cfg.Limits.MaxPreloginPerIP + 30
	pid := s.PID()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n, err := countOpenFiles(pid); err == nil && int64(n) > peak.Load() {
				peak.Store(int64(n))
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	const n = 3000
	src := hostileAddr(2, 0)
	hello := partialClientHello()
	held := holdConns(t, n, func(int) (*net.TCPAddr, string) { return src, s.addr(s.Cfg.FTP.ImplicitPort) },
		func(i int) []byte {
			if i%2 == 0 {
				return nil
			}
			return hello
		})
	time.Sleep(500 * time.Millisecond) // keep sampling while they are all held
	close(stop)
	<-sampled
	now := s.openFiles()
	t.Logf("%d half-open connections from %s held; server open files: baseline %d, peak %d, now %d (limit %d)", held, src.IP, base, peak.Load(), now, limit)
	if held < n*9/10 {
		t.Fatalf("only %d of %d half-open connections opened: the flood did not happen", held, n)
	}
	if int(peak.Load()) > limit {
		t.Errorf("server open files peaked at %d during %d half-open implicit FTPS connections from one address: want at most baseline %d + max_prelogin_per_ip %d + 30 = %d",
			peak.Load(), held, base, s.Cfg.Limits.MaxPreloginPerIP, limit)
	}
	f, err := dialFTPRaw(hostileAddr(2, 1), s.addr(s.Cfg.FTP.ImplicitPort), true, 5*time.Second)
	if err != nil {
		t.Fatalf("a new implicit FTPS connection from another address during the flood: %v", err)
	}
	defer f.Close()
	if code, text, err := f.reply(); err != nil || code != 220 {
		t.Fatalf("a new implicit FTPS connection from another address during the flood was greeted with %q (%v), want 220", text, err)
	}
}

// TestHostilePassiveFlood: one user opens as many control sessions as the
// per-address limits allow from three addresses and sends PASV again and
// again. With 40 passive ports and ftp.passive_per_user = 10, the user
// holds at most 10 ports at once, and another user still gets a 227 and
// completes a transfer.
func TestHostilePassiveFlood(t *testing.T) {
	s := newServer(t, func(c *config.Config) {
		c.FTP.PassivePorts = testutil.FreeRange(t, 40).String()
		c.FTP.PassivePerUser = 10
	})
	const pwA, pwB = "pasv-flood-a", "pasv-flood-b"
	s.addUser("ann", pwA)
	s.addUser("ben", pwB)
	s.start()
	s.logTail(150)
	perIP := s.Cfg.Limits.MaxConnectionsPerIP
	implicit := s.addr(s.Cfg.FTP.ImplicitPort)

	var mu sync.Mutex
	var sessions []*ftpRaw
	t.Cleanup(func() {
		for _, f := range sessions {
			f.Close()
		}
	})
	var refused []string
	var wg sync.WaitGroup
	for a := range 3 {
		wg.Add(1)
		go func(src *net.TCPAddr) {
			defer wg.Done()
			for range perIP + 2 {
				f, err := dialFTPRaw(src, implicit, true, 5*time.Second)
				if err == nil {
					err = f.login("ann", pwA)
				}
				mu.Lock()
				if err != nil {
					refused = append(refused, fmt.Sprintf("%s: %v", src.IP, err))
					if f != nil {
						f.Close()
					}
					mu.Unlock()
					return // the per-address limit is reached
				}
				sessions = append(sessions, f)
				mu.Unlock()
			}
		}(hostileAddr(3, a))
	}
	wg.Wait()
	t.Logf("user ann holds %d logged-in control sessions from 3 addresses; refused: %q", len(sessions), refused)
	if len(sessions) <= s.Cfg.FTP.PassiveRange().Size() {
		t.Fatalf("ann has %d sessions, no more than the %d passive ports: the flood cannot exhaust the range", len(sessions), s.Cfg.FTP.PassiveRange().Size())
	}
	last := map[*ftpRaw]int{} // each session's port from its latest 227
	var got227, got425 int
	for round := range 3 {
		for _, f := range sessions {
			code, text, err := f.cmd("PASV")
			switch {
			case err != nil:
				t.Fatalf("PASV round %d: %v", round, err)
			case code == 227:
				got227++
				ap, err := wire.ParsePASV(text[4:])
				if err != nil {
					t.Fatalf("PASV reply %q: %v", text, err)
				}
				last[f] = int(ap.Port())
			default:
				got425++
				delete(last, f)
			}
		}
	}
	open := 0
	for _, port := range last {
		if c, err := net.DialTimeout("tcp", s.addr(port), time.Second); err == nil {
			open++
			c.Close()
		}
	}
	t.Logf("ann's PASV: %d answered 227, %d refused; ports listening for ann now: %d", got227, got425, open)
	if open > s.Cfg.FTP.PassivePerUser {
		t.Errorf("user ann holds %d passive ports at once, want at most ftp.passive_per_user = %d", open, s.Cfg.FTP.PassivePerUser)
	}

	b, err := dialFTPRaw(nil, implicit, true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.login("ben", pwB); err != nil {
		b.Close()
		t.Fatalf("user ben cannot log in during ann's PASV flood: %v", err)
	}
	code, text, err := b.cmd("PASV")
	b.cmd("QUIT")
	b.Close()
	if err != nil || code != 227 {
		t.Errorf("user ben's PASV during ann's PASV flood answered %q (%v), want 227", text, err)
	}
	if err := s.roundTrip("ftps", "ben", pwB, "/ben.bin", testutil.RandomBytes(100000, 23), 10*time.Second); err != nil {
		t.Errorf("user ben's transfer during ann's PASV flood: %v", err)
	}
}

// trickle writes chunks to w, one every gap, then closes w; it stops at
// the first error and reports the outcome on the returned channel.
func trickle(w io.WriteCloser, data []byte, chunk int, gap time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		for off := 0; off < len(data); off += chunk {
			if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
				w.Close()
				done <- fmt.Errorf("write at %d: %w", off, err)
				return
			}
			time.Sleep(gap)
		}
		done <- w.Close()
	}()
	return done
}

// waitUploadStarted waits until an upload in progress shows in home's
// reserved directory of temporary files.
func waitUploadStarted(t *testing.T, s *server, home string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if len(testutil.Uploading(home)) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upload did not start:\n%s", s.Logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probeRefused tells whether a new connection to addr is refused: the
// connect fails, or the server closes it (or answers other than banner)
// before a banner starting with banner. It describes what it saw.
func probeRefused(addr, banner string) (bool, string) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true, "connect: " + err.Error()
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 128)
	n, err := c.Read(b)
	switch {
	case n > 0 && strings.HasPrefix(string(b[:n]), banner):
		return false, fmt.Sprintf("accepted, banner %q", strings.TrimSpace(string(b[:n])))
	case n > 0:
		return true, fmt.Sprintf("answered %q", strings.TrimSpace(string(b[:n])))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, "accepted and held open without a banner"
	}
	return true, fmt.Sprintf("closed before a banner: %v", err)
}

// assertRefusesNew checks, for up to a second, that new connections to
// addr are refused.
func assertRefusesNew(t *testing.T, what, addr, banner string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		refused, saw := probeRefused(addr, banner)
		if refused {
			t.Logf("new %s connection after SIGTERM: %s", what, saw)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("a new %s connection 1s after SIGTERM was not refused: %s", what, saw)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostileShutdownFinishesUpload sends SIGTERM during a slow FTP
// upload: new SFTP and FTP connections are refused at once, the upload
// completes and is published whole, and the process exits 0 within
// limits.shutdown_timeout.
func TestHostileShutdownFinishesUpload(t *testing.T) {
	const grace = 10 * time.Second
	s := newServer(t, func(c *config.Config) { c.Limits.ShutdownTimeout = config.Duration{Duration: grace} })
	const pw = "shutdown-pw"
	home := s.addUser("alice", pw)
	s.start()
	s.logTail(150)
	c, err := s.dial("ftpes", "alice", pw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Create("/slow.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.RandomBytes(30*32<<10, 24) // 30 chunks of 32 KiB, one per 100 ms: 3 s
	done := trickle(w, data, 32<<10, 100*time.Millisecond)
	waitUploadStarted(t, s, home)
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	s.signal(syscall.SIGTERM)
	if !s.waitLog("shutting down", 2*time.Second) {
		t.Fatalf("no shutdown logged after SIGTERM:\n%s", s.Logs())
	}
	assertRefusesNew(t, "SFTP", s.addr(s.Cfg.SFTP.Port), "SSH-")
	assertRefusesNew(t, "FTP", s.addr(s.Cfg.FTP.Port), "220")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the upload running at SIGTERM did not complete: %v", err)
		}
	case <-time.After(grace + 5*time.Second):
		t.Fatal("the upload running at SIGTERM neither completed nor failed")
	}
	if got, err := os.ReadFile(filepath.Join(home, "slow.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the upload running at SIGTERM is not published whole: %d of %d bytes (%v)", len(got), len(data), err)
	}
	code, exited := s.waitExit(grace + 5*time.Second)
	took := time.Since(sent)
	switch {
	case !exited:
		t.Fatalf("ferry serve still runs %s after SIGTERM (shutdown_timeout %s)", took.Round(time.Millisecond), grace)
	case code != 0:
		t.Errorf("ferry serve exited with status %d after SIGTERM, want 0", code)
	case took > grace+time.Second:
		t.Errorf("ferry serve took %s to exit after SIGTERM, want within shutdown_timeout %s", took.Round(time.Millisecond), grace)
	}
	t.Logf("exit status %d, %s after SIGTERM", code, took.Round(time.Millisecond))
}

// TestHostileShutdownTimeoutAbortsUpload: an upload that outlasts a short
// limits.shutdown_timeout is aborted; the process still exits 0 in time,
// the log says the transfer was aborted, and nothing is published.
func TestHostileShutdownTimeoutAbortsUpload(t *testing.T) {
	const grace = time.Second
	s := newServer(t, func(c *config.Config) { c.Limits.ShutdownTimeout = config.Duration{Duration: grace} })
	const pw = "shutdown-pw"
	home := s.addUser("alice", pw)
	s.start()
	s.logTail(150)
	c, err := s.dial("ftpes", "alice", pw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Create("/long.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.RandomBytes(60*16<<10, 25) // 60 chunks, one per 100 ms: 6 s
	done := trickle(w, data, 16<<10, 100*time.Millisecond)
	waitUploadStarted(t, s, home)
	sent := time.Now()
	s.signal(syscall.SIGTERM)
	code, exited := s.waitExit(grace + 5*time.Second)
	took := time.Since(sent)
	switch {
	case !exited:
		t.Fatalf("ferry serve still runs %s after SIGTERM (shutdown_timeout %s)", took.Round(time.Millisecond), grace)
	case code != 0:
		t.Errorf("ferry serve exited with status %d when shutdown_timeout cut an upload, want 0", code)
	case took > grace+2*time.Second:
		t.Errorf("ferry serve took %s to exit after SIGTERM, want within shutdown_timeout %s", took.Round(time.Millisecond), grace)
	}
	t.Logf("exit status %d, %s after SIGTERM", code, took.Round(time.Millisecond))
	if err := <-done; err == nil {
		t.Error("the client was told the cut upload succeeded")
	}
	aborted := false
	for _, line := range strings.Split(s.Logs(), "\n") {
		if strings.Contains(line, "event=upload") && strings.Contains(line, "path=/long.bin") && strings.Contains(line, "result=aborted") {
			aborted = true
		}
	}
	if !aborted {
		t.Errorf("the log does not say the upload of /long.bin was aborted (a line with event=upload path=/long.bin result=aborted):\n%s", s.Logs())
	}
	if _, err := os.Stat(filepath.Join(home, "long.bin")); err == nil {
		t.Error("the upload cut by shutdown_timeout was published under its name")
	}
	if m := testutil.Uploading(home); len(m) > 0 {
		t.Logf("note: the cut upload left %d temporary file(s) in the home", len(m))
	}
}

// TestHostileWrongPasswords: 150 connections from one address each try a
// wrong FTP password at once (retrying while the server refuses the
// connection itself). The server's peak memory stays under 300 MB, and
// the address is then locked out: 421 at the FTP greeting, no login over
// SFTP even with the right password. Another address still logs in.
func TestHostileWrongPasswords(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
	const pw = "the-right-password"
	s.addUser("alice", pw)
	s.start()
	s.logTail(150)
	_, base := s.memory()
	src := hostileAddr(5, 0)
	ftpAddr := s.addr(s.Cfg.FTP.Port)
	const n = 150
	var mu sync.Mutex
	outcomes := map[string]int{}
	count := func(k string) {
		mu.Lock()
		outcomes[k]++
		mu.Unlock()
	}
	deadline := time.Now().Add(20 * time.Second)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for time.Now().Before(deadline) {
				done, what := wrongPassword(src, ftpAddr)
				count(what)
				if done {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			count("gave up at the deadline")
		}()
	}
	close(start)
	wg.Wait()
	rss, peak := s.memory()
	t.Logf("outcomes of %d parallel wrong-password logins: %v", n, outcomes)
	t.Logf("server memory: VmHWM %d MB before, %d MB peak after, VmRSS now %d MB", base>>20, peak>>20, rss>>20)
	if peak >= 300<<20 {
		t.Errorf("server peak memory (VmHWM) reached %d MB during %d parallel wrong-password logins, want under 300 MB", peak>>20, n)
	}

	f, err := dialFTPRaw(src, ftpAddr, false, 5*time.Second)
	if err != nil {
		t.Errorf("FTP from %s after the wrong passwords: %v, want a 421 greeting", src.IP, err)
	} else {
		code, text, err := f.reply()
		f.Close()
		if code != 421 {
			t.Errorf("FTP from %s after %d wrong passwords greeted with %q (%v), want 421 (locked out)", src.IP, n, text, err)
		}
	}
	if err := sshLogin(src, s.addr(s.Cfg.SFTP.Port), "alice", pw); err == nil {
		t.Errorf("SFTP from %s logged in with the right password after %d wrong ones; want the address locked out", src.IP, n)
	} else {
		t.Logf("SFTP from the locked-out address: %v", err)
	}
	if err := s.roundTrip("ftpes", "alice", pw, "/after.bin", []byte("still here\n"), 10*time.Second); err != nil {
		t.Errorf("alice from 127.0.0.1 cannot work after the attack from %s: %v", src.IP, err)
	}
}

// wrongPassword makes one login attempt with a wrong password from src.
// done is false when the server refused the connection before the
// password could be tried (a limit), so the caller tries again.
func wrongPassword(src *net.TCPAddr, addr string) (done bool, what string) {
	f, err := dialFTPRaw(src, addr, false, 5*time.Second)
	if err != nil {
		return false, "connect failed"
	}
	defer f.Close()
	code, text, err := f.reply()
	switch {
	case err != nil:
		return false, "closed before the greeting"
	case code == 421 && strings.Contains(strings.ToLower(text), "failed login"):
		return true, "421 locked out at the greeting"
	case code != 220:
		return false, fmt.Sprintf("greeting %d", code)
	}
	if code, _, err = f.cmd("USER alice"); err != nil || code != 331 {
		return false, fmt.Sprintf("USER answered %d (%v)", code, err)
	}
	code, _, err = f.cmd("PASS wrong-guess")
	switch {
	case err != nil:
		return false, "closed after PASS"
	case code == 230:
		return true, "230 LOGGED IN with a wrong password"
	}
	return true, fmt.Sprintf("PASS answered %d", code)
}

// sshLogin tries a password login over SSH from src.
func sshLogin(src *net.TCPAddr, addr, user, password string) error {
	nc, err := dialFrom(src, addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.Password(password)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		return err
	}
	ssh.NewClient(cc, chans, reqs).Close()
	return nil
}
