package auth

import (
	"context"
	"net"
	"sync"
	"time"
)

// Lockout counts failed logins per client IP. Past MaxFailures failures
// within Window, the IP is refused for Duration. Zero MaxFailures turns it
// off. Loopback is not exempt.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
	Duration    time.Duration
	// Exempt, when set, names addresses never counted nor locked out
	// (the defender's lockout.allow).
	Exempt func(ip net.IP) bool

	mu    sync.Mutex
	now   func() time.Time
	state map[string]*ipState
	ended chan struct{} // closed when a check ends; made by the first waiter
}

type ipState struct {
	failures []time.Time
	until    time.Time
	pending  int // password checks begun and not ended: provisional failures
}

// NewLockout returns a lockout with the given policy.
func NewLockout(maxFailures int, window, duration time.Duration) *Lockout {
	return &Lockout{MaxFailures: maxFailures, Window: window, Duration: duration, now: time.Now, state: map[string]*ipState{}}
}

func key(ip net.IP) string { return ip.String() }

// off reports whether the lockout does not apply to ip: turned off, or ip
// exempt.
func (l *Lockout) off(ip net.IP) bool {
	return l == nil || l.MaxFailures == 0 || l.Exempt != nil && l.Exempt(ip)
}

// Locked reports whether ip is refused now, and until when.
func (l *Lockout) Locked(ip net.IP) (bool, time.Time) {
	if l.off(ip) {
		return false, time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.state[key(ip)]
	if s == nil {
		return false, time.Time{}
	}
	if l.now().Before(s.until) {
		return true, s.until
	}
	return false, time.Time{}
}

// Fail records a failed login; it reports whether ip is now locked out.
func (l *Lockout) Fail(ip net.IP) bool {
	if l.off(ip) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	return l.fail(l.entry(ip), now)
}

// Succeed forgets the failures of ip after a good login.
func (l *Lockout) Succeed(ip net.IP) {
	if l.off(ip) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.succeed(key(ip), l.now())
}

// How a password check begun with begin ended.
type ending int

const (
	endFail    ending = iota // wrong password: the provisional failure stands
	endSucceed               // good password: taken back, failures forgotten
	endCancel                // nothing was checked (busy, store error): taken back
)

// begin starts a password check from ip: it records a provisional failure
// and reports true, or reports false when ip is locked out or its failures
// and checks in flight already reach MaxFailures. Counting before the hash
// runs is what stops parallel guesses: check-then-act let one HTTP/2
// connection with 150 wrong-password streams run 130 hashes against a
// limit of 10. Every true must be followed by one end.
func (l *Lockout) begin(ip net.IP) bool {
	ok, _ := l.try(ip)
	return ok
}

// try is begin that also says, when it refuses, whether the address is
// only full of checks in flight (not locked out): then the channel it
// returns is closed when a check ends, and a retry may succeed.
func (l *Lockout) try(ip net.IP) (ok bool, wait <-chan struct{}) {
	if l.off(ip) {
		return true, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	s := l.entry(ip)
	if now.Before(s.until) {
		return false, nil
	}
	l.prune(s, now)
	if len(s.failures)+s.pending >= l.MaxFailures {
		if len(s.failures) >= l.MaxFailures {
			return false, nil
		}
		if l.ended == nil {
			l.ended = make(chan struct{})
		}
		return false, l.ended
	}
	s.pending++
	return true, nil
}

// beginWait is begin for a login that may wait: when the address's
// allowance is taken by checks still in flight rather than by failures, it
// waits for them to end (a burst of right passwords, such as rclone's dozen
// parallel logins, goes through; a burst of wrong ones still runs at most
// MaxFailures hashes and is then locked out). It returns ErrLocked, or
// ErrBusy when ctx ends first.
func (l *Lockout) beginWait(ctx context.Context, ip net.IP) error {
	for {
		ok, wait := l.try(ip)
		switch {
		case ok:
			return nil
		case wait == nil:
			return ErrLocked
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ErrBusy
		}
	}
}

// end settles a check that begin let start.
func (l *Lockout) end(ip net.IP, how ending) {
	if l.off(ip) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := l.entry(ip)
	if s.pending > 0 {
		s.pending--
	}
	if l.ended != nil { // wake the logins waiting in beginWait
		close(l.ended)
		l.ended = nil
	}
	switch how {
	case endFail:
		l.fail(s, now)
	case endSucceed:
		l.succeed(key(ip), now)
	}
}

// entry returns the state of ip, created empty if need be.
func (l *Lockout) entry(ip net.IP) *ipState {
	k := key(ip)
	s := l.state[k]
	if s == nil {
		s = &ipState{}
		l.state[k] = s
	}
	return s
}

// prune drops the failures that fell out of the window.
func (l *Lockout) prune(s *ipState, now time.Time) {
	kept := s.failures[:0]
	for _, t := range s.failures {
		if now.Sub(t) < l.Window {
			kept = append(kept, t)
		}
	}
	s.failures = kept
}

// fail records one failure in s; it reports whether s is now locked.
func (l *Lockout) fail(s *ipState, now time.Time) bool {
	l.prune(s, now)
	s.failures = append(s.failures, now)
	if len(s.failures) >= l.MaxFailures {
		s.until = now.Add(l.Duration)
		s.failures = s.failures[:0]
		return true
	}
	return false
}

// succeed forgets the failures under k unless it is locked out; checks
// still in flight keep their provisional failures.
func (l *Lockout) succeed(k string, now time.Time) {
	s := l.state[k]
	if s == nil || now.Before(s.until) {
		return
	}
	if s.pending > 0 {
		s.failures = s.failures[:0]
		return
	}
	delete(l.state, k)
}

// gc drops entries with nothing left to remember, so a scan from many
// addresses cannot grow the map for ever.
func (l *Lockout) gc(now time.Time) {
	if len(l.state) < 4096 {
		return
	}
	for k, s := range l.state {
		if s.pending == 0 && now.After(s.until) && (len(s.failures) == 0 || now.Sub(s.failures[len(s.failures)-1]) > l.Window) {
			delete(l.state, k)
		}
	}
}
