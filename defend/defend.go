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
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/store"
)

// RefreshEvery is how often the ban list is read from the store again,
// which is how long `ferry ban add|del` takes to reach a running server.
const RefreshEvery = 2 * time.Second

// pruneEvery is how often the scores past the window are deleted.
const pruneEvery = time.Minute

// Defender is a core.Sink and the core's admission check. It is safe for
// concurrent use.
type Defender struct {
	st  store.Store
	set atomic.Pointer[settings] // SetConfig swaps them
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	bans   map[netip.Prefix]store.Ban
	gen    int // bumped by every ban made here, so a refresh read before it does not undo it
	pruned time.Time
	onBan  func(*core.Record)
}

// settings are the lockout section in force, with its lists parsed.
type settings struct {
	cfg         config.Lockout
	allow, deny []netip.Prefix
}

func parse(cfg config.Lockout) (*settings, error) {
	allow, err := config.Prefixes(cfg.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := config.Prefixes(cfg.Deny)
	if err != nil {
		return nil, err
	}
	return &settings{cfg: cfg, allow: allow, deny: deny}, nil
}

// SetConfig applies a reloaded lockout section from the next event and
// the next check on: weights, thresholds, durations and the allow and
// deny lists. Scores and bans already counted are kept.
func (d *Defender) SetConfig(cfg config.Lockout) error {
	set, err := parse(cfg)
	if err != nil {
		return err
	}
	d.set.Store(set)
	return nil
}

// New returns a defender over st with the ban list loaded, refreshed
// every RefreshEvery until ctx ends.
func New(ctx context.Context, st store.Store, cfg config.Lockout, log *slog.Logger) (*Defender, error) {
	d := &Defender{st: st, log: log, now: time.Now}
	if err := d.SetConfig(cfg); err != nil {
		return nil, err
	}
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
	now := time.Now() // pruning is about wall time, whatever clock scores use
	d.mu.Lock()
	gen := d.gen
	prune := now.Sub(d.pruned) >= pruneEvery
	if prune {
		d.pruned = now
	}
	d.mu.Unlock()
	if prune {
		// Scores older than the window count for nothing; a stranger
		// with many addresses must not grow the tables for ever.
		if err := d.st.PruneScores(ctx, now.Add(-d.set.Load().cfg.Window.Duration)); err != nil {
			return err
		}
	}
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
	for _, p := range d.set.Load().deny {
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
	for _, p := range d.set.Load().allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Weight is what a record scores against its address under cfg: a failed
// login that checked a password or key 1, one to a name with no account
// unknown_user_weight, and each offence of a refusal (core.Offence*) its
// own weight; anything else 0.
func Weight(cfg config.Lockout, r *core.Record) int {
	switch r.Kind {
	case core.EventLoginFailed:
		switch r.Reason {
		case core.ReasonDenied:
			return 1
		case core.ReasonUnknownUser:
			return cfg.UnknownUserWeight
		}
	case core.EventRefused:
		switch r.Offence {
		case core.OffenceEscape:
			return cfg.EscapeWeight
		case core.OffenceCommand:
			return cfg.CommandWeight
		case core.OffenceData:
			return cfg.DataWeight
		}
	}
	return 0
}

// Record scores the events that count against an address (core.Sink),
// each by its Weight.
func (d *Defender) Record(r *core.Record) {
	set := d.set.Load()
	cfg := set.cfg
	if r.Kind == core.EventLoginFailed && r.Reason == core.ReasonDenied {
		d.userFailed(cfg, r.User)
	}
	w := Weight(cfg, r)
	if w == 0 || cfg.MaxFailures == 0 || !r.Remote.IsValid() {
		return
	}
	a := r.Remote.Addr().Unmap()
	if d.Allowed(a) {
		return
	}
	key := Key(a, cfg.IPv6Prefix)
	now := d.now()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	// The score lives in the store, so every node of a cluster adds to
	// the same one.
	score, err := d.st.AddHit(ctx, key.String(), now, w, now.Add(-cfg.Window.Duration))
	if err != nil {
		d.log.Error("defender: event not scored", "prefix", key.String(), "err", err.Error())
		return
	}
	if score < cfg.MaxFailures {
		return
	}
	if err := d.st.ClearHits(ctx, key.String()); err != nil {
		d.log.Error("defender: score not cleared", "prefix", key.String(), "err", err.Error())
	}
	d.mu.Lock()
	b := d.bans[key]
	if b.Active(now) {
		// Another node (or an event in flight here) banned it already.
		d.mu.Unlock()
		return
	}
	b.Prefix, b.Offences, b.Reason = key.String(), b.Offences+1, r.Kind
	dur := cfg.Duration.Duration
	for i := 1; i < b.Offences && dur < cfg.MaxDuration.Duration; i++ {
		dur *= 2
	}
	b.Until = now.Add(min(dur, cfg.MaxDuration.Duration))
	if d.bans == nil {
		d.bans = map[netip.Prefix]store.Ban{}
	}
	d.bans[key] = b
	d.gen++
	onBan := d.onBan
	d.mu.Unlock()
	if err := d.st.PutBan(ctx, b); err != nil {
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

// storeTimeout bounds one query of the defender to the store.
const storeTimeout = 5 * time.Second

// userFailed counts a failed login to an account, from any address and
// any node.
func (d *Defender) userFailed(cfg config.Lockout, name string) {
	if cfg.UserFailures == 0 || name == "" {
		return
	}
	now := d.now()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if _, err := d.st.AddLoginFailure(ctx, name, now, now.Add(-cfg.Window.Duration)); err != nil {
		d.log.Error("defender: failed login not counted", "user", name, "err", err.Error())
	}
}

// Delay is how long a login to the account name waits before its check:
// lockout.user_delay once it failed lockout.user_failures times within
// the window, from whatever addresses and nodes, else 0.
func (d *Defender) Delay(name string) time.Duration {
	cfg := d.set.Load().cfg
	if cfg.UserFailures == 0 {
		return 0
	}
	now := d.now()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	n, err := d.st.LoginFailures(ctx, name, now.Add(-cfg.Window.Duration))
	if err != nil {
		d.log.Error("defender: failed logins not read", "user", name, "err", err.Error())
		return 0
	}
	if n >= cfg.UserFailures {
		return cfg.UserDelay.Duration
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
