// Package defend is the defender: it scores client addresses from the
// session core's events (failed logins, escape attempts), bans an address
// past a score within a window, and keeps its bans in the store, so they
// survive a restart and `ferry ban` can change them while the server runs
// (the server reads them again every RefreshEvery). IPv6 addresses are
// grouped by their prefix (lockout.ipv6_prefix, /64 by default): one host
// has a whole /64 to hop through.
package defend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

// RefreshEvery is how often the ban list is read from the store again,
// which is how long `ferry ban add|del` takes to reach a running server.
const RefreshEvery = 2 * time.Second

// Defender is a core.Sink and the core's admission check. It is safe for
// concurrent use.
type Defender struct {
	st    store.Store
	cfg   config.Lockout
	log   *slog.Logger
	allow []netip.Prefix
	deny  []netip.Prefix
	now   func() time.Time

	mu     sync.Mutex
	scores map[netip.Prefix][]hit
	users  map[string][]time.Time // failed logins per account name, within the window
	bans   map[netip.Prefix]store.Ban
	gen    int // bumped by every ban made here, so a refresh read before it does not undo it
	onBan  func(*core.Record)
}

type hit struct {
	at     time.Time
	weight int
}

// New returns a defender over st with the ban list loaded, refreshed
// every RefreshEvery until ctx ends.
func New(ctx context.Context, st store.Store, cfg config.Lockout, log *slog.Logger) (*Defender, error) {
	allow, err := config.Prefixes(cfg.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := config.Prefixes(cfg.Deny)
	if err != nil {
		return nil, err
	}
	d := &Defender{st: st, cfg: cfg, log: log, allow: allow, deny: deny, now: time.Now, scores: map[netip.Prefix][]hit{}, users: map[string][]time.Time{}}
	if err := d.refresh(ctx); err != nil {
		return nil, err
	}
	go func() {
		t := time.NewTicker(RefreshEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := d.refresh(ctx); err != nil && ctx.Err() == nil {
					log.Warn("defender: ban list not refreshed", "err", err.Error())
				}
			}
		}
	}()
	return d, nil
}

func (d *Defender) refresh(ctx context.Context) error {
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	list, err := d.st.Bans(ctx)
	if err != nil {
		return err
	}
	m := make(map[netip.Prefix]store.Ban, len(list))
	for _, b := range list {
		if p, err := netip.ParsePrefix(b.Prefix); err == nil {
			m[p] = b
		}
	}
	d.mu.Lock()
	if d.gen == gen {
		d.bans = m
	}
	d.mu.Unlock()
	return nil
}

// Key is the prefix an address is scored and banned by: the address
// itself for IPv4, its ipv6Bits prefix for IPv6.
func Key(a netip.Addr, ipv6Bits int) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = ipv6Bits
	}
	p, _ := a.Prefix(bits)
	return p
}

// ErrDenied is the refusal of an address on lockout.deny.
var ErrDenied = errors.New("your address is not allowed on this server")

// ErrBanned is the refusal of a banned address; the error carries when
// the ban ends.
var ErrBanned = errors.New("your address is banned")

// Check answers nil for an address that may connect, or an error that
// wraps ErrDenied or ErrBanned, whose text names the end of the ban in
// RFC 3339 UTC (a client can be told it), and the ban's end.
func (d *Defender) Check(a netip.Addr) (time.Time, error) {
	a = a.Unmap()
	if d.Allowed(a) {
		return time.Time{}, nil
	}
	for _, p := range d.deny {
		if p.Contains(a) {
			return time.Time{}, ErrDenied
		}
	}
	now := d.now()
	var until time.Time
	d.mu.Lock()
	// Bans are few (each a prefix that misbehaved lately); `ferry ban
	// add` may name a prefix wider than a key.
	for p, b := range d.bans {
		if b.Active(now) && p.Contains(a) && b.Until.After(until) {
			until = b.Until
		}
	}
	d.mu.Unlock()
	if until.IsZero() {
		return time.Time{}, nil
	}
	until = until.UTC().Truncate(time.Second)
	return until, fmt.Errorf("%w until %s", ErrBanned, until.Format(time.RFC3339))
}

// Allowed reports whether a is on lockout.allow: never scored nor banned.
func (d *Defender) Allowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range d.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Record scores the events that count against an address (core.Sink):
// a failed login that checked a password or key, and an escape attempt.
func (d *Defender) Record(r *core.Record) {
	w := 0
	switch {
	case r.Kind == core.EventLoginFailed && r.Reason == "denied":
		w = 1
		d.userFailed(r.User)
	case r.Kind == core.EventRefused && r.Session != 0 && r.Path != "":
		w = d.cfg.EscapeWeight
	}
	if w == 0 || d.cfg.MaxFailures == 0 || !r.Remote.IsValid() {
		return
	}
	a := r.Remote.Addr().Unmap()
	if d.Allowed(a) {
		return
	}
	key := Key(a, d.cfg.IPv6Prefix)
	now := d.now()
	d.mu.Lock()
	hits := d.scores[key][:0:0]
	score := w
	for _, h := range d.scores[key] {
		if now.Sub(h.at) < d.cfg.Window.Duration {
			hits = append(hits, h)
			score += h.weight
		}
	}
	if score < d.cfg.MaxFailures {
		d.scores[key] = append(hits, hit{now, w})
		d.mu.Unlock()
		return
	}
	delete(d.scores, key)
	b := d.bans[key]
	b.Prefix, b.Offences, b.Reason = key.String(), b.Offences+1, r.Kind
	dur := d.cfg.Duration.Duration
	for i := 1; i < b.Offences && dur < d.cfg.MaxDuration.Duration; i++ {
		dur *= 2
	}
	b.Until = now.Add(min(dur, d.cfg.MaxDuration.Duration))
	d.bans[key] = b
	d.gen++
	onBan := d.onBan
	d.mu.Unlock()
	if err := d.st.PutBan(context.Background(), b); err != nil {
		d.log.Error("defender: ban not stored (it holds until the server stops)", "prefix", b.Prefix, "err", err.Error())
	}
	d.log.Warn("address banned", "prefix", b.Prefix, "until", b.Until.UTC().Format(time.RFC3339), "offences", b.Offences, "score", score, "last", r.Kind)
	if onBan != nil {
		onBan(&core.Record{Kind: core.EventBan, Service: r.Service, Remote: r.Remote, User: r.User, Reason: r.Kind, Duration: b.Until.Sub(now)})
	}
}

// OnBan makes every ban made here an event of the vocabulary
// (core.EventBan), handed to f: the server passes Core.Publish, so the
// sinks (audit log, notifications) see bans beside logins and files.
func (d *Defender) OnBan(f func(*core.Record)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onBan = f
}

// userFailed counts a failed login to an account, from any address.
func (d *Defender) userFailed(name string) {
	if d.cfg.UserFailures == 0 || name == "" {
		return
	}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[name] = append(d.recent(name, now), now)
	// Names are chosen by strangers: forget the quiet ones so that the
	// map stays as small as the window's traffic.
	if len(d.users) > 4096 {
		for n := range d.users {
			if len(d.recent(n, now)) == 0 {
				delete(d.users, n)
			}
		}
	}
}

// recent is the failures of name within the window; the caller holds d.mu.
func (d *Defender) recent(name string, now time.Time) []time.Time {
	f := d.users[name]
	for len(f) > 0 && now.Sub(f[0]) >= d.cfg.Window.Duration {
		f = f[1:]
	}
	return f
}

// Delay is how long a login to the account name waits before its check:
// lockout.user_delay once it failed lockout.user_failures times within
// the window, from whatever addresses, else 0.
func (d *Defender) Delay(name string) time.Duration {
	if d.cfg.UserFailures == 0 {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.recent(name, d.now())) >= d.cfg.UserFailures {
		return d.cfg.UserDelay.Duration
	}
	return 0
}

// Bans is the number of prefixes banned now, for the metrics.
func (d *Defender) Bans() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	now, n := d.now(), 0
	for _, b := range d.bans {
		if b.Active(now) {
			n++
		}
	}
	return n
}

// Active lists the bans in force now, for `ferry status`.
func (d *Defender) Active() []store.Ban {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	var out []store.Ban
	for _, b := range d.bans {
		if b.Active(now) {
			out = append(out, b)
		}
	}
	return out
}
