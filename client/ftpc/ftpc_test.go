package ftpc

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/ftp/wire"
)

// fakeServer is a scripted FTP control connection: handle answers each
// command and may open data connections itself.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	mu     sync.Mutex
	seen   []string
	handle func(w io.Writer, cmd wire.Command)
	done   chan struct{}
}

func newFake(t *testing.T, handle func(w io.Writer, cmd wire.Command)) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln, handle: handle, done: make(chan struct{})}
	go f.serve()
	t.Cleanup(func() { ln.Close(); <-f.done })
	return f
}

func (f *fakeServer) serve() {
	defer close(f.done)
	c, err := f.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	fmt.Fprint(c, "220 fake\r\n")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd, err := wire.ParseCommand(line)
		if err != nil {
			fmt.Fprint(c, "500 bad\r\n")
			continue
		}
		f.mu.Lock()
		f.seen = append(f.seen, cmd.String())
		f.mu.Unlock()
		switch cmd.Verb {
		case "FEAT":
			fmt.Fprint(c, "211-Features:\r\n SIZE\r\n211 End\r\n")
		case "USER":
			fmt.Fprint(c, "331 pw\r\n")
		case "PASS":
			fmt.Fprint(c, "230 in\r\n")
		case "TYPE":
			fmt.Fprint(c, "200 ok\r\n")
		case "QUIT":
			fmt.Fprint(c, "221 bye\r\n")
			return
		default:
			f.handle(c, cmd)
		}
	}
}

func (f *fakeServer) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

func dialFake(t *testing.T, f *fakeServer, cfg Config) *Conn {
	t.Helper()
	cfg.Addr = f.ln.Addr().String()
	cfg.Timeout = 5 * time.Second
	c, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("u", "secret"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPassiveFallback: a server without EPSV gets PASV, and the data
// connection goes to the control peer even when the 227 names another
// address.
func TestPassiveFallback(t *testing.T) {
	dl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	port := dl.Addr().(*net.TCPAddr).Port
	f := newFake(t, func(w io.Writer, cmd wire.Command) {
		switch cmd.Verb {
		case "EPSV":
			fmt.Fprint(w, "502 not implemented\r\n")
		case "PASV":
			text, _ := wire.FormatPASV(netip.AddrPortFrom(netip.MustParseAddr("10.9.8.7"), uint16(port)))
			fmt.Fprintf(w, "227 %s\r\n", text)
		case "RETR":
			d, err := dl.Accept()
			if err != nil {
				fmt.Fprint(w, "425 no data\r\n")
				return
			}
			fmt.Fprint(w, "150 here\r\n")
			io.WriteString(d, "hello over PASV")
			d.Close()
			fmt.Fprint(w, "226 done\r\n")
		}
	})
	c := dialFake(t, f, Config{})
	for i := 0; i < 2; i++ {
		r, err := c.Retr("f", 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		if err := r.Close(); err != nil || string(b) != "hello over PASV" {
			t.Fatalf("got %q, %v", b, err)
		}
	}
	c.Quit()
	got := strings.Join(f.commands(), ";")
	if strings.Count(got, "EPSV") != 1 || strings.Count(got, ";PASV") != 2 {
		t.Fatalf("EPSV should be tried once, then PASV each time: %s", got)
	}
}

// TestActivePORT: a server without EPRT gets PORT with the configured
// address and a port from the range; a connection from another host is
// refused and the server's own one accepted.
func TestActivePORT(t *testing.T) {
	var (
		announced netip.AddrPort
		strangerR = make(chan string, 1)
	)
	f := newFake(t, func(w io.Writer, cmd wire.Command) {
		switch cmd.Verb {
		case "EPRT":
			fmt.Fprint(w, "500 unknown\r\n")
		case "PORT":
			ap, err := wire.ParsePORT(cmd.Arg)
			if err != nil {
				fmt.Fprint(w, "501 bad\r\n")
				return
			}
			announced = ap
			fmt.Fprint(w, "200 ok\r\n")
		case "STOR":
			fmt.Fprint(w, "150 send\r\n")
			// A stranger on 127.0.0.3 reaches the port before the server.
			sd := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
			s, err := sd.Dial("tcp", announced.String())
			if err != nil {
				strangerR <- "dial: " + err.Error()
			}
			d, err := net.Dial("tcp", announced.String())
			if err != nil {
				fmt.Fprint(w, "425 no data\r\n")
				return
			}
			if s != nil {
				s.SetReadDeadline(time.Now().Add(2 * time.Second))
				_, err := s.Read(make([]byte, 1))
				strangerR <- fmt.Sprint(err)
				s.Close()
			}
			b, _ := io.ReadAll(d)
			d.Close()
			fmt.Fprintf(w, "226 got %d %s\r\n", len(b), b)
		}
	})
	c := dialFake(t, f, Config{Active: true, ActiveAddress: netip.MustParseAddr("127.0.0.2"), ActivePortLow: 41000, ActivePortHigh: 41009})
	w, err := c.Stor("up", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "active bytes")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	if announced.Addr() != netip.MustParseAddr("127.0.0.2") || announced.Port() < 41000 || announced.Port() > 41009 {
		t.Fatalf("PORT announced %s, want 127.0.0.2 and a port in 41000-41009", announced)
	}
	if s := <-strangerR; !strings.Contains(s, "EOF") && !strings.Contains(s, "reset") {
		t.Fatalf("the stranger's data connection was not closed: %s", s)
	}
	if got := strings.Join(f.commands(), ";"); !strings.Contains(got, "EPRT |1|127.0.0.2|") || !strings.Contains(got, "STOR up") {
		t.Fatalf("commands: %s", got)
	}
}

func TestParseFeat(t *testing.T) {
	got := parseFeat([]string{"AUTH TLS", " AUTH SSL", "MLST type*;size*;", "SIZE", "", "rest STREAM"})
	want := map[string]string{"AUTH": "TLS SSL", "MLST": "type*;size*;", "SIZE": "", "REST": "STREAM"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseFeat = %v, want %v", got, want)
	}
}

func TestTraceHidesPassword(t *testing.T) {
	f := newFake(t, func(w io.Writer, cmd wire.Command) { fmt.Fprint(w, "502 no\r\n") })
	var tr strings.Builder
	c := dialFake(t, f, Config{Trace: &tr})
	c.Quit()
	if strings.Contains(tr.String(), "secret") || !strings.Contains(tr.String(), "> PASS ****") || !strings.Contains(tr.String(), "> USER u") {
		t.Fatalf("trace:\n%s", tr.String())
	}
}

func TestControlCharacterRefused(t *testing.T) {
	f := newFake(t, func(w io.Writer, cmd wire.Command) { fmt.Fprint(w, "250 ok\r\n") })
	c := dialFake(t, f, Config{})
	defer c.Quit()
	if err := c.Delete("a\r\nDELE b"); err == nil {
		t.Fatal("a path with CRLF was sent")
	}
	for _, s := range f.commands() {
		if strings.HasPrefix(s, "DELE") {
			t.Fatalf("server saw %q", s)
		}
	}
}

func TestParseLIST(t *testing.T) {
	now := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		line string
		want Entry
		ok   bool
	}{
		{"-rw-r--r--    1 1001     1001       123456 Feb 03 14:05 file.bin", Entry{Name: "file.bin", Size: 123456, ModTime: time.Date(2026, 2, 3, 14, 5, 0, 0, time.UTC)}, true},
		{"drwxr-xr-x    2 0        0            4096 Dec 24  2024 some dir", Entry{Name: "some dir", Size: 4096, Dir: true, ModTime: time.Date(2024, 12, 24, 0, 0, 0, 0, time.UTC)}, true},
		{"-rw-r--r--    1 1001     1001            5 Dec 24 10:00 last year", Entry{Name: "last year", Size: 5, ModTime: time.Date(2025, 12, 24, 10, 0, 0, 0, time.UTC)}, true},
		{"lrwxrwxrwx    1 0        0               4 Jan 01  2025 link -> target", Entry{Name: "link", Size: 4, Link: true, Target: "target", ModTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"lrwxrwxrwx    1 0        0               2 Jan 01  2025 a -> b -> ..", Entry{Name: "a", Size: 2, Link: true, Target: "b -> ..", ModTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"srwxrwxrwx    1 0        0               0 Jan 01  2025 sock", Entry{Name: "sock", Special: true, ModTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"-rw-r--r--    1 1001     1001            5 Jan 01  2025  lead space", Entry{Name: " lead space", Size: 5, ModTime: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"total 12", Entry{}, false},
		{"-rw-r--r-- 1 a b notanumber Jan 01 2025 x", Entry{}, false},
	} {
		got, ok := parseLIST(tc.line, now)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseLIST(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseMLSx(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Entry
		ok   bool
	}{
		{"type=file;size=42;modify=20250102030405; a b.txt", Entry{Name: "a b.txt", Size: 42, ModTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, true},
		{"Type=dir;Modify=20250102030405.123; sub", Entry{Name: "sub", Dir: true, ModTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, true},
		{"type=cdir; /home/x", Entry{Name: ".", Dir: true}, true},
		{"type=OS.unix=slink:/srv/x;size=6; up", Entry{Name: "up", Size: 6, Link: true, Target: "/srv/x"}, true},
		{"type=OS.unix=symlink;unique=803g1a; l", Entry{Name: "l", Link: true, ID: "803g1a"}, true},
		{"type=dir;unique=801U2F; d", Entry{Name: "d", Dir: true, ID: "801U2F"}, true},
		{"type=OS.unix=chr-13/29; tty", Entry{Name: "tty", Special: true}, true},
		{"type=file;size=1;", Entry{}, false},
	} {
		got, ok := parseMLSx(tc.line)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseMLSx(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParsePWD(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`"/home/x" is the current directory`, "/home/x"},
		{`"/a ""quoted"" dir" ok`, `/a "quoted" dir`},
		{`no quotes`, ""},
		{`"/unterminated`, ""},
	} {
		got, err := parsePWD(tc.text)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("parsePWD(%q) = %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}
