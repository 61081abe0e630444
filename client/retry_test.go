//go:build unix

package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// cutRelay forwards TCP connections to addr and cuts each one once the
// server has sent it limit bytes: a path that breaks in the middle of a
// file, in front of a real server.
type cutRelay struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
	open  openConns
}

// openConns are a relay's connections, closed when the test ends so that
// none outlives it.
type openConns struct {
	mu sync.Mutex
	cs []net.Conn
}

func (o *openConns) add(cs ...net.Conn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cs = append(o.cs, cs...)
}

func (o *openConns) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.cs {
		c.Close()
	}
}

func startCutRelay(t *testing.T, addr string, limit int64) *cutRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &cutRelay{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			r.open.add(c, s)
			r.wg.Add(2)
			go func() { defer r.wg.Done(); io.Copy(s, c); s.Close() }()
			go func() {
				defer r.wg.Done()
				io.Copy(c, io.LimitReader(s, limit))
				c.Close()
				s.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.open.closeAll(); r.wg.Wait() })
	return r
}

// A file cut after bytes moved is not tried again (only one cut before
// a byte moved is, docs/client.md): the user's -c continues it, and the
// pool keeps its connections.
func TestNoRetryAfterBytesMoved(t *testing.T) {
	testutil.Need(t, "nginx")
	d := startNginxDAV(t, true, false)
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.RandomBytes(8<<20, 71)
	os.WriteFile(filepath.Join(d.root, "big.bin"), data, 0o644)
	relay := startCutRelay(t, u.Host, 1<<20)
	var notes strings.Builder
	o := d.options(t, davPass)
	pool := peer{url: "dav://alice@" + relay.ln.Addr().String() + "/", o: o}.pool(t, 4)
	x := &Transfer{Pool: pool, Segments: 1, Notice: &notes}
	dst := filepath.Join(t.TempDir(), "big.bin")
	err = x.Get("/big.bin", dst)
	if ExitCode(err) != ExitIncomplete {
		t.Fatalf("download through a path cut after 1 MiB: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	if strings.Contains(notes.String(), "trying again") {
		t.Fatalf("a download cut after bytes moved was tried again: %q", notes.String())
	}
	if len(x.Files) != 1 || x.Files[0].Transferred == 0 {
		t.Fatalf("the record does not say bytes moved: %+v", x.Files)
	}
	if n := relay.conns.Load(); n > 2 {
		t.Fatalf("%d connections for one download cut once", n)
	}
}

// teeRelay forwards TCP connections to addr and keeps what the client
// sent.
type teeRelay struct {
	ln   net.Listener
	mu   sync.Mutex
	sent bytes.Buffer
	open openConns
}

func (r *teeRelay) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent.Write(b)
}

func (r *teeRelay) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent.String()
}

func startTeeRelay(t *testing.T, addr string) *teeRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &teeRelay{ln: ln}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			r.open.add(c, s)
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(io.MultiWriter(s, r), c); s.Close() }()
			go func() { defer wg.Done(); io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.open.closeAll(); wg.Wait() })
	return r
}

// A server that refuses a name before it asks for a password (vsftpd's
// userlist) does so that the password never crosses the network in the
// clear: over plain FTP the client sends PASS only once USER asks for
// it. A name it accepts still logs in.
func TestPlainFTPPasswordAfterUser(t *testing.T) {
	list := filepath.Join(t.TempDir(), "user_list")
	os.WriteFile(list, []byte(ftpUser+"\n"), 0o644)
	v := startVsftpd(t, vsftpdOpts{extra: []string{"ssl_enable=NO",
		"userlist_enable=YES", "userlist_deny=YES", "userlist_file=" + list}})
	relay := startTeeRelay(t, fmt.Sprintf("127.0.0.1:%d", v.Port))
	o := testOptions(t)
	o.Password, o.NoTLS = ftpPass, true
	target, err := ParseURL("ftp://" + ftpUser + "@" + relay.ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(target, o)
	if err == nil {
		c.Close()
		t.Fatal("a user on vsftpd's deny list logged in")
	}
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("refused name: %v, want an authentication error", err)
	}
	if sent := relay.text(); !strings.Contains(sent, "USER "+ftpUser) || strings.Contains(sent, ftpPass) {
		t.Fatalf("sent to a server that refused the name: %q", sent)
	}

	os.WriteFile(list, []byte("nobody-else\n"), 0o644)
	c, err = Dial(target, o)
	if err != nil {
		t.Fatalf("login over plain FTP: %v", err)
	}
	defer c.Close()
	if _, err := c.List("/"); err != nil {
		t.Fatalf("list after a plain login: %v", err)
	}
}
