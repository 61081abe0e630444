package e2e

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
)

// TestOffencesBan: with command_weight 0, twenty unknown FTP commands ban
// nobody; a reload sets it to 1, and then a connection that sends
// unknown commands is told "421 ... banned until" right after the one that
// reaches max_failures (three free per session, then ten), and the next
// connection from that address is refused the same way. Data connections
// to another session's passive port from a third address score
// data_weight (2) each and ban that address after five; logins to a name
// with no account score unknown_user_weight (2) and ban after five.
func TestOffencesBan(t *testing.T) {
	s := newServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures, c.Lockout.CommandWeight, c.Lockout.DataWeight, c.Lockout.UnknownUserWeight = 10, 0, 2, 2
	})
	const pw = "offence-test-password"
	s.addUser("alice", pw)
	s.start()
	addr := s.addr(s.Cfg.FTP.Port)
	from := func(ip string) *net.TCPAddr { return &net.TCPAddr{IP: net.ParseIP(ip)} }
	// junk sends unknown commands from src until a reply is not 502, at
	// most n; it returns how many were answered 502 and the last reply.
	junk := func(src string, n int) (int, int, string) {
		t.Helper()
		f, err := dialFTPRaw(from(src), addr, false, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if code, text, err := f.reply(); err != nil || code != 220 {
			return 0, code, text
		}
		for i := range n {
			code, text, err := f.cmd("XJUNK" + strconv.Itoa(i))
			if err != nil || code != 502 {
				return i, code, text
			}
		}
		return n, 0, ""
	}
	if got, code, text := junk("127.0.0.1", 20); got != 20 {
		t.Fatalf("command_weight 0: reply %d after %d unknown commands: %s", code, got, text)
	}

	b, _ := os.ReadFile(s.ConfigPath)
	os.WriteFile(s.ConfigPath, []byte(strings.Replace(string(b), "command_weight = 0", "command_weight = 1", 1)), 0o644)
	if out, err := s.ferry("", "reload"); err != nil {
		t.Fatalf("ferry reload: %v\n%s", err, out)
	}
	if !s.waitLog("lockout.command_weight", 5*time.Second) {
		t.Fatalf("lockout.command_weight not applied:\n%s", s.Logs())
	}
	start := time.Now()
	// All thirteen are answered 502, the thirteenth then followed by a
	// 421 naming the ban, which is what the next read finds.
	want := core.FreeOffences + 10
	if got, code, text := junk("127.0.0.1", 40); got != want || code != 421 || !strings.Contains(text, "banned until") {
		t.Fatalf("after %d unknown commands (want %d): %d %s", got, want, code, text)
	}
	if _, code, text := junk("127.0.0.1", 1); code != 421 || !strings.Contains(text, "banned until") {
		t.Fatalf("a new connection after the ban: %d %s", code, text)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("banning took %v", d)
	}

	// A session of alice on 127.0.0.2 waits on a passive port; 127.0.0.3
	// connects to it five times.
	f, err := dialFTPRaw(from("127.0.0.2"), s.addr(s.Cfg.FTP.ImplicitPort), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.login("alice", pw); err != nil {
		t.Fatal(err)
	}
	code, text, err := f.cmd("EPSV")
	if err != nil || code != 229 {
		t.Fatalf("EPSV: %d %s %v", code, text, err)
	}
	port, err := wire.ParseEPSV(text)
	if err != nil {
		t.Fatalf("EPSV reply %q: %v", text, err)
	}
	for i := range 5 {
		c, err := dialFrom(from("127.0.0.3"), s.addr(int(port)), 5*time.Second)
		if err != nil {
			t.Fatalf("data connection %d: %v", i, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 1)) // the server closes it
		c.Close()
	}
	waitBanned := func(src string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, code, text := junk(src, 0); code == 421 && strings.Contains(text, "banned until") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is not banned:\n%s", src, s.Logs())
			}
		}
	}
	waitBanned("127.0.0.3")
	if _, code, _ := junk("127.0.0.2", 0); code != 0 {
		t.Fatalf("the session's own address was refused: %d", code)
	}

	// Five logins to a name with no account, from 127.0.0.4.
	g, err := dialFTPRaw(from("127.0.0.4"), s.addr(s.Cfg.FTP.ImplicitPort), true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.reply()
	for i := range 5 {
		g.cmd("USER nobody" + strconv.Itoa(i))
		if code, text, _ := g.cmd("PASS x"); code != 530 {
			t.Fatalf("unknown name %d: %d %s", i, code, text)
		}
	}
	waitBanned("127.0.0.4")
}
