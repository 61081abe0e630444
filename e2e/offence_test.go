package e2e

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testutil"
	"golang.org/x/crypto/ssh"
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

// TestSFTPOffencesBan: an SFTP client that sends unknown extended
// requests is answered SSH_FX_OP_UNSUPPORTED for three of them freely and
// ten more at command_weight 1; the tenth scored one bans its address and
// ends the session, and plain OpenSSH then prints the ban.
func TestSFTPOffencesBan(t *testing.T) {
	testutil.Need(t, "ssh")
	s := newServer(t, func(c *config.Config) { c.Lockout.MaxFailures, c.Lockout.CommandWeight = 10, 1 })
	const pw = "offence-test-password"
	s.addUser("alice", pw)
	s.start()
	addr := s.addr(s.Cfg.SFTP.Port)
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
		User: "alice", Auth: []ssh.AuthMethod{ssh.Password(pw)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := ssh.NewClient(cc, chans, reqs)
	defer cl.Close()
	sess, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	if err := sess.RequestSubsystem("sftp"); err != nil {
		t.Fatal(err)
	}
	packet := func(b []byte) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	read := func() ([]byte, error) {
		var n [4]byte
		if _, err := io.ReadFull(out, n[:]); err != nil {
			return nil, err
		}
		b := make([]byte, binary.BigEndian.Uint32(n[:]))
		_, err := io.ReadFull(out, b)
		return b, err
	}
	in.Write(packet([]byte{1, 0, 0, 0, 3})) // SSH_FXP_INIT, version 3
	if b, err := read(); err != nil || b[0] != 2 {
		t.Fatalf("SSH_FXP_VERSION: %v %v", b, err)
	}
	answered := 0
	for i := range 40 {
		req := []byte{200} // SSH_FXP_EXTENDED
		req = binary.BigEndian.AppendUint32(req, uint32(i+1))
		name := "junk" + strconv.Itoa(i) + "@example.com"
		req = binary.BigEndian.AppendUint32(req, uint32(len(name)))
		req = append(req, name...)
		in.Write(packet(req))
		b, err := read()
		if err != nil {
			break
		}
		// SSH_FXP_STATUS with SSH_FX_OP_UNSUPPORTED (8).
		if len(b) < 9 || b[0] != 101 || binary.BigEndian.Uint32(b[5:9]) != 8 {
			t.Fatalf("request %d answered %v", i, b)
		}
		answered++
	}
	if want := core.FreeOffences + 10 - 1; answered != want {
		t.Fatalf("%d unknown requests answered before the session ended, want %d", answered, want)
	}
	o, _ := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-p", strconv.Itoa(s.Cfg.SFTP.Port), "alice@"+s.host(), "true").CombinedOutput()
	if !strings.Contains(string(o), "ferry: your address is banned until") {
		t.Fatalf("OpenSSH after the ban:\n%s", o)
	}
}
