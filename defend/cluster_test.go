package defend

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testpg"
	"github.com/ferry-project/ferry/store"
)

// TestTwoNodesOneScore: two defenders on one PostgreSQL store (two nodes)
// each see two of three failures of one address; the third bans it, and
// the other node refuses it after its next refresh. An attacker gets no
// more guesses from spreading them over nodes.
func TestTwoNodesOneScore(t *testing.T) {
	srv := testpg.Start(t)
	open := func() store.Store {
		st, err := store.OpenPostgres(context.Background(), srv.DSN)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	few := func(l *config.Lockout) { l.UserFailures = 4 }
	a, b := newDefender(t, open(), few), newDefender(t, open(), few)
	a.Record(failed("192.0.2.50:1"))
	b.Record(failed("192.0.2.50:2"))
	ip := netip.MustParseAddr("192.0.2.50")
	if _, err := a.Check(ip); err != nil {
		t.Fatalf("banned after two failures of three: %v", err)
	}
	b.Record(failed("192.0.2.50:3"))
	if _, err := b.Check(ip); !errors.Is(err, ErrBanned) {
		t.Fatalf("node b after the third failure: %v, want banned", err)
	}
	if err := a.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Check(ip); !errors.Is(err, ErrBanned) {
		t.Fatalf("node a after its refresh: %v, want banned", err)
	}
	// The per-account throttle counts failures from both nodes too.
	for i, d := range []*Defender{a, b, a, b} {
		r := failed("198.18.0." + string(rune('1'+i)) + ":1")
		r.User = "carol"
		d.Record(r)
	}
	if a.Delay("carol") == 0 || b.Delay("carol") == 0 {
		t.Fatalf("four failures over two nodes did not slow the account: %v %v", a.Delay("carol"), b.Delay("carol"))
	}
}
