package defend

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

func newDefender(t *testing.T, st store.Store, mutate func(*config.Lockout)) *Defender {
	t.Helper()
	c := config.Default()
	c.Lockout.MaxFailures = 3
	c.Lockout.Duration = config.Duration{Duration: time.Minute}
	c.Lockout.MaxDuration = config.Duration{Duration: 3 * time.Minute}
	if mutate != nil {
		mutate(&c.Lockout)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d, err := New(ctx, st, c.Lockout, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func failed(remote string) *core.Record {
	return &core.Record{Kind: core.EventLoginFailed, Session: 1, Remote: netip.MustParseAddrPort(remote), Reason: "denied", User: "x"}
}

// TestBanGrowsAndPersists: three failures ban an address for a minute,
// the next offence for two, then the ceiling of three; a new defender on
// the same store (a restart) still refuses it; Unban in the store (ferry
// ban del) reaches a running defender at its next refresh.
func TestBanGrowsAndPersists(t *testing.T) {
	st := openStore(t)
	d := newDefender(t, st, nil)
	// Offences follow each other in a fake time ending about now, so
	// that the last ban still holds in the store at the real time.
	now := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	d.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.7")
	for n, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		for i := range 3 {
			if _, err := d.Check(a); err != nil {
				t.Fatalf("offence %d: banned after %d failures: %v", n+1, i, err)
			}
			d.Record(failed("192.0.2.7:4000"))
		}
		until, err := d.Check(a)
		if !errors.Is(err, ErrBanned) || !until.Equal(now.Add(want)) {
			t.Fatalf("offence %d: %v until %v, want a ban of %v", n+1, err, until, want)
		}
		if !strings.Contains(err.Error(), until.Format(time.RFC3339)) {
			t.Errorf("the refusal does not name the end: %q", err)
		}
		now = until
	}
	now = now.Add(-time.Second) // inside the last ban
	d2 := newDefender(t, st, nil)
	d2.now = d.now
	if _, err := d2.Check(a); !errors.Is(err, ErrBanned) {
		t.Fatalf("after a restart: %v, want banned", err)
	}
	if err := st.Unban(context.Background(), "192.0.2.7/32"); err != nil {
		t.Fatal(err)
	}
	d2.now = time.Now // Unban is at the real now
	deadline := time.Now().Add(2 * RefreshEvery)
	for {
		if _, err := d2.Check(a); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an unban in the store did not reach the running defender")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestScores: IPv6 addresses of one /64 share a score, another /64 does
// not; an escape weighs escape_weight; failures that checked nothing
// (locked out, busy) and admission refusals do not count; old failures
// leave the window; allow is never banned and deny always refused.
func TestScores(t *testing.T) {
	d := newDefender(t, openStore(t), func(l *config.Lockout) {
		l.EscapeWeight = 3
		l.Allow = []string{"10.0.0.0/8"}
		l.Deny = []string{"198.51.100.9"}
	})
	d.Record(failed("[2001:db8:1:2::1]:1"))
	d.Record(failed("[2001:db8:1:2::ffff]:1"))
	d.Record(failed("[2001:db8:1:3::1]:1"))
	if _, err := d.Check(netip.MustParseAddr("2001:db8:1:2::abcd")); err != nil {
		t.Fatalf("banned after two failures: %v", err)
	}
	d.Record(failed("[2001:db8:1:2::2]:1"))
	if _, err := d.Check(netip.MustParseAddr("2001:db8:1:2::abcd")); !errors.Is(err, ErrBanned) {
		t.Fatalf("a /64 with three failures: %v, want banned", err)
	}
	if _, err := d.Check(netip.MustParseAddr("2001:db8:1:3::1")); err != nil {
		t.Fatalf("another /64 is banned: %v", err)
	}
	escape := &core.Record{Kind: core.EventRefused, Session: 4, Remote: netip.MustParseAddrPort("192.0.2.1:1"), Path: "/../x", Reason: "outside the home", Offence: core.OffenceEscape}
	d.Record(escape)
	if _, err := d.Check(netip.MustParseAddr("192.0.2.1")); !errors.Is(err, ErrBanned) {
		t.Fatalf("one escape of weight 3: %v, want banned", err)
	}
	for range 5 {
		r := failed("192.0.2.2:1")
		r.Reason = "locked out"
		d.Record(r)
		d.Record(&core.Record{Kind: core.EventRefused, Remote: netip.MustParseAddrPort("192.0.2.2:1"), Reason: "too many"})
	}
	if _, err := d.Check(netip.MustParseAddr("192.0.2.2")); err != nil {
		t.Fatalf("refusals without a check counted: %v", err)
	}
	now := time.Now()
	d.now = func() time.Time { return now }
	d.Record(failed("192.0.2.3:1"))
	d.Record(failed("192.0.2.3:1"))
	now = now.Add(config.Default().Lockout.Window.Duration)
	d.Record(failed("192.0.2.3:1"))
	if _, err := d.Check(netip.MustParseAddr("192.0.2.3")); err != nil {
		t.Fatalf("failures older than the window counted: %v", err)
	}
	for range 10 {
		d.Record(failed("10.1.2.3:1"))
	}
	if _, err := d.Check(netip.MustParseAddr("10.1.2.3")); err != nil {
		t.Fatalf("an allowed address was banned: %v", err)
	}
	if _, err := d.Check(netip.MustParseAddr("198.51.100.9")); !errors.Is(err, ErrDenied) {
		t.Fatalf("a denied address: %v", err)
	}
}

// TestUserThrottle: failures to one account from many addresses slow its
// logins once they reach user_failures within the window, and the slowing
// ends with the window; other accounts are not slowed.
func TestUserThrottle(t *testing.T) {
	d := newDefender(t, openStore(t), func(l *config.Lockout) {
		l.MaxFailures, l.UserFailures, l.UserDelay = 100, 4, config.Duration{Duration: time.Second}
	})
	now := time.Now()
	d.now = func() time.Time { return now }
	for i := range 4 {
		if got := d.Delay("alice"); got != 0 {
			t.Fatalf("after %d failures: delay %v", i, got)
		}
		r := failed("192.0.2." + strconv.Itoa(10+i) + ":1")
		r.User = "alice"
		d.Record(r)
	}
	if got := d.Delay("alice"); got != time.Second {
		t.Fatalf("after 4 failures from 4 addresses: delay %v, want 1s", got)
	}
	if got := d.Delay("bob"); got != 0 {
		t.Fatalf("another account is slowed: %v", got)
	}
	now = now.Add(config.Default().Lockout.Window.Duration)
	if got := d.Delay("alice"); got != 0 {
		t.Fatalf("after the window: delay %v", got)
	}
}

// TestOffenceWeights: a login to an unknown name, a refused command and a
// refused data connection each score their own weight (0: not at all),
// whichever protocol reported them; a refusal the core left unscored (a
// session's free ones) does not count; SetConfig (a reload) changes the
// weights and the lists of a running defender.
func TestOffenceWeights(t *testing.T) {
	d := newDefender(t, openStore(t), func(l *config.Lockout) {
		l.MaxFailures, l.UnknownUserWeight, l.CommandWeight, l.DataWeight = 6, 3, 1, 2
	})
	rec := func(kind, remote, reason, offence string) *core.Record {
		return &core.Record{Kind: kind, Session: 1, Service: "sftp", Remote: netip.MustParseAddrPort(remote), Reason: reason, Offence: offence}
	}
	banned := func(a string) bool {
		_, err := d.Check(netip.MustParseAddr(a))
		return errors.Is(err, ErrBanned)
	}
	// Two unknown names (3 each) ban; two wrong passwords do not.
	d.Record(rec(core.EventLoginFailed, "192.0.2.1:1", core.ReasonUnknownUser, ""))
	if banned("192.0.2.1") {
		t.Fatal("banned after one unknown name of weight 3")
	}
	d.Record(rec(core.EventLoginFailed, "192.0.2.1:1", core.ReasonUnknownUser, ""))
	if !banned("192.0.2.1") {
		t.Fatal("two unknown names of weight 3 did not ban at 6")
	}
	// Five scored commands do not ban, the sixth does; unscored ones
	// (Offence "") never count.
	for range 20 {
		d.Record(rec(core.EventRefused, "192.0.2.2:1", "unknown command", ""))
	}
	for i := range 6 {
		if banned("192.0.2.2") {
			t.Fatalf("banned after %d commands of weight 1", i)
		}
		d.Record(rec(core.EventRefused, "192.0.2.2:1", "unknown command", core.OffenceCommand))
	}
	if !banned("192.0.2.2") {
		t.Fatal("six commands of weight 1 did not ban")
	}
	// Three refused data connections (2 each), even without a session.
	for range 3 {
		r := rec(core.EventRefused, "192.0.2.3:1", "passive", core.OffenceData)
		r.Session = 0
		d.Record(r)
	}
	if !banned("192.0.2.3") {
		t.Fatal("three data connections of weight 2 did not ban")
	}

	// A reload: commands no longer score, 192.0.2.4 is allowed, data
	// weighs 6.
	c := config.Default().Lockout
	c.MaxFailures, c.CommandWeight, c.DataWeight, c.Allow = 6, 0, 6, []string{"192.0.2.4"}
	if err := d.SetConfig(c); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		d.Record(rec(core.EventRefused, "192.0.2.5:1", "unknown command", core.OffenceCommand))
		d.Record(rec(core.EventRefused, "192.0.2.4:1", "passive", core.OffenceData))
	}
	if banned("192.0.2.5") || banned("192.0.2.4") {
		t.Fatal("after the reload: a weight of 0 or an allowed address was scored")
	}
	d.Record(rec(core.EventRefused, "192.0.2.6:1", "passive", core.OffenceData))
	if !banned("192.0.2.6") {
		t.Fatal("after the reload: one data connection of weight 6 did not ban")
	}
	c.Allow = []string{"not an address"}
	if err := d.SetConfig(c); err == nil {
		t.Fatal("a bad allow list was accepted")
	}
}

// TestBanEvent: the failure that tips the score makes one ban event with
// the address, the tipping event's kind and the ban's length; the
// failures before it make none.
func TestBanEvent(t *testing.T) {
	d := newDefender(t, openStore(t), nil)
	var got []core.Record
	d.OnBan(func(r *core.Record) { got = append(got, *r) })
	for range 2 {
		d.Record(failed("192.0.2.9:4000"))
	}
	if len(got) != 0 {
		t.Fatalf("ban events before the ban: %+v", got)
	}
	d.Record(failed("192.0.2.9:4000"))
	if len(got) != 1 || got[0].Kind != core.EventBan || got[0].Remote.Addr().String() != "192.0.2.9" ||
		got[0].Reason != core.EventLoginFailed || got[0].Duration != time.Minute {
		t.Fatalf("ban events: %+v, want one for 192.0.2.9 of 1m", got)
	}
}
