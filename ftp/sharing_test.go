package ftp

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/bcrypt"
)

// barrier lets n goroutines wait until all of them arrived.
type barrier struct {
	left atomic.Int64
	all  chan struct{}
}

func newBarrier(n int) *barrier {
	b := &barrier{all: make(chan struct{})}
	b.left.Store(int64(n))
	return b
}

func (b *barrier) arrive() error {
	if b.left.Add(-1) == 0 {
		close(b.all)
	}
	select {
	case <-b.all:
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("barrier: %d sessions never arrived", b.left.Load())
	}
}

// TestPassiveSharing: a range of 4 passive ports, 200 sessions of 200 users
// from 200 loopback addresses. Every session sends EPSV and waits until
// all 200 hold a passive port (so 50 addresses wait on each port at once),
// then uploads a file; then all download it again the same way. Every
// file arrives whole in both directions (SHA-256).
func TestPassiveSharing(t *testing.T) {
	const n = 200
	e := newEnv(t, func(c *config.Config) {
		c.FTP.PassivePorts = testutil.FreeRange(t, 4).String()
		// 200 logins at once, under -race too.
		c.Limits.PasswordWait = config.Duration{Duration: 2 * time.Minute}
		c.Limits.LoginTimeout = config.Duration{Duration: 2 * time.Minute}
		c.Limits.IdleTimeout = config.Duration{Duration: 2 * time.Minute}
	})
	// bcrypt at its lowest cost, which ferry accepts: the test is about
	// passive ports, not the cost of 200 argon2id checks.
	hash, err := bcrypt.GenerateFromPassword([]byte(testserver.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		e.AddUser(store.User{Name: fmt.Sprintf("u%03d", i), Home: e.home, PasswordHash: string(hash)})
	}
	up, down := newBarrier(n), newBarrier(n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(1 + i%250)})
			if err := shareRoundTrip(e.addr, from, fmt.Sprintf("u%03d", i), randBytes(16<<10+i), up, down); err != nil {
				errs <- fmt.Errorf("session %d from %s: %w", i, from, err)
				up.arrive() // let the others go on
				down.arrive()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if e.srv.pool.InUse() > 4 {
		t.Errorf("%d ports held, the range has 4", e.srv.pool.InUse())
	}
}

// shareRoundTrip logs in from the address from, uploads data and
// downloads it again, each over a protected passive connection opened
// once every session reached the barrier.
func shareRoundTrip(addr string, from netip.Addr, user string, data []byte, up, down *barrier) error {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0)), Timeout: 30 * time.Second}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(120 * time.Second))
	var conn net.Conn = raw
	br := bufio.NewReader(conn)
	cmd := func(line string, want int) (wire.Reply, error) {
		if line != "" {
			if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
				return wire.Reply{}, err
			}
		}
		r, err := wire.ReadReply(br)
		if err == nil && r.Code != want {
			err = fmt.Errorf("%q: %d %s, want %d", line, r.Code, r.Text(), want)
		}
		return r, err
	}
	if _, err := cmd("", 220); err != nil {
		return err
	}
	if _, err := cmd("AUTH TLS", 234); err != nil {
		return err
	}
	cfg := clientTLS(0)
	conn = tls.Client(raw, cfg)
	br = bufio.NewReader(conn)
	for _, c := range []struct {
		line string
		code int
	}{{"USER " + user, 331}, {"PASS " + testserver.Password, 230}, {"PBSZ 0", 200}, {"PROT P", 200}} {
		if _, err := cmd(c.line, c.code); err != nil {
			return err
		}
	}
	transfer := func(verb string, b *barrier) ([]byte, error) {
		r, err := cmd("EPSV", 229)
		if err != nil {
			return nil, err
		}
		port, err := wire.ParseEPSV(r.Text())
		if err != nil {
			return nil, err
		}
		if err := b.arrive(); err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		dc, err := d.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
		if err != nil {
			return nil, err
		}
		defer dc.Close()
		dc.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := cmd(verb+" "+user+".bin", 150); err != nil {
			return nil, err
		}
		tc := tls.Client(dc, cfg)
		var got []byte
		if verb == "STOR" {
			if _, err = tc.Write(data); err == nil {
				err = tc.Close()
			}
		} else {
			got, err = io.ReadAll(tc)
		}
		if err != nil {
			return nil, err
		}
		_, err = cmd("", 226)
		return got, err
	}
	if _, err := transfer("STOR", up); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	got, err := transfer("RETR", down)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(data) || !bytes.Equal(got, data) {
		return fmt.Errorf("downloaded %d bytes, not the %d uploaded", len(got), len(data))
	}
	return nil
}
