package core

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// TestRate: the server-wide download limit is shared by the sessions of
// two users; the per-user upload limit by the sessions of one user; and
// a direction without a limit does not wait.
func TestRate(t *testing.T) {
	const mb = 1 << 20
	cr, _ := newCore(t, func(c *config.Config) {
		c.Bandwidth.Download = 8 * mb
		c.Bandwidth.UserUpload = 8 * mb
	})
	d := newDialer(t)
	session := func(src, user string) *Conn {
		cn, err := cr.Admit(d.conn(src), listen.FTP)
		if err != nil {
			t.Fatal(err)
		}
		if err := cn.Begin(store.User{Name: user, Home: t.TempDir()}, "test"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cn.Close)
		return cn
	}
	a1, a2, b := session("127.0.4.1", "alice"), session("127.0.4.2", "alice"), session("127.0.4.3", "bob")
	// moves 4 MiB in 256 KiB chunks through each of rates at once and
	// returns how long it took.
	move := func(rates ...func(int64)) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, r := range rates {
			if r == nil {
				t.Fatal("no limit where one is set")
			}
			wg.Go(func() {
				for range 16 {
					r(256 << 10)
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	// 8 MiB at 8 MiB/s, the first 1 MiB (the burst) at once: 0.875 s.
	if took := move(a1.Rate(Down), b.Rate(Down)); took < 800*time.Millisecond || took > 1300*time.Millisecond {
		t.Errorf("two users' downloads under the server's limit took %v, want about 875ms", took)
	}
	if took := move(a1.Rate(Up), a2.Rate(Up)); took < 800*time.Millisecond || took > 1300*time.Millisecond {
		t.Errorf("one user's two uploads took %v, want about 875ms", took)
	}
	if took := move(b.Rate(Up)); took > 600*time.Millisecond {
		t.Errorf("bob's upload waited for alice's limit: %v", took)
	}
	cr2, _ := newCore(t, nil)
	cn, err := cr2.Admit(d.conn("127.0.4.4"), listen.FTP)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if cn.Rate(Up) != nil || cn.Rate(Down) != nil {
		t.Error("a rate without limits")
	}
}

// TestSessionsPerUser: limits.max_sessions_per_user caps one account's
// sessions across protocols, refused as ErrTooMany with its own words;
// other accounts are not affected and a closed session frees its place.
func TestSessionsPerUser(t *testing.T) {
	cr, _ := newCore(t, func(c *config.Config) { c.Limits.MaxSessionsPerUser = 2 })
	d := newDialer(t)
	login := func(src string, svc listen.Service, user string) (*Conn, error) {
		cn, err := cr.Admit(d.conn(src), svc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cn.Close)
		return cn, cn.Begin(store.User{Name: user, Home: t.TempDir()}, "test")
	}
	first, err := login("127.0.5.1", listen.FTP, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := login("127.0.5.2", listen.SFTP, "alice"); err != nil {
		t.Fatal(err)
	}
	_, err = login("127.0.5.3", listen.HTTPS, "alice")
	if !errors.Is(err, ErrTooMany) || !errors.Is(err, ErrTooManyOfUser) || !strings.Contains(err.Error(), "your account") {
		t.Fatalf("third session of alice: %v", err)
	}
	if _, err := login("127.0.5.4", listen.HTTPS, "bob"); err != nil {
		t.Fatalf("bob: %v", err)
	}
	first.Close()
	if _, err := login("127.0.5.5", listen.HTTPS, "alice"); err != nil {
		t.Fatalf("alice after one of her sessions ended: %v", err)
	}
}
