package auth

import (
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

	mu    sync.Mutex
	now   func() time.Time
	state map[string]*ipState
}

type ipState struct {
	failures []time.Time
	until    time.Time
}

// NewLockout returns a lockout with the given policy.
func NewLockout(maxFailures int, window, duration time.Duration) *Lockout {
	return &Lockout{MaxFailures: maxFailures, Window: window, Duration: duration, now: time.Now, state: map[string]*ipState{}}
}

func key(ip net.IP) string { return ip.String() }

// Locked reports whether ip is refused now, and until when.
func (l *Lockout) Locked(ip net.IP) (bool, time.Time) {
	if l == nil || l.MaxFailures == 0 {
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
	if l == nil || l.MaxFailures == 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	k := key(ip)
	s := l.state[k]
	if s == nil {
		s = &ipState{}
		l.state[k] = s
	}
	kept := s.failures[:0]
	for _, t := range s.failures {
		if now.Sub(t) < l.Window {
			kept = append(kept, t)
		}
	}
	s.failures = append(kept, now)
	if len(s.failures) >= l.MaxFailures {
		s.until = now.Add(l.Duration)
		s.failures = s.failures[:0]
		return true
	}
	return false
}

// Succeed forgets the failures of ip after a good login.
func (l *Lockout) Succeed(ip net.IP) {
	if l == nil || l.MaxFailures == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.state[key(ip)]; s != nil && !l.now().Before(s.until) {
		delete(l.state, key(ip))
	}
}

// gc drops entries with nothing left to remember, so a scan from many
// addresses cannot grow the map for ever.
func (l *Lockout) gc(now time.Time) {
	if len(l.state) < 4096 {
		return
	}
	for k, s := range l.state {
		if now.After(s.until) && (len(s.failures) == 0 || now.Sub(s.failures[len(s.failures)-1]) > l.Window) {
			delete(l.state, k)
		}
	}
}
