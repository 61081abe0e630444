package limit

import (
	"errors"
	"net"
	"sync"
)

// Errors returned by Acquire.
var (
	ErrTooMany       = errors.New("too many connections to this server; try again later")
	ErrTooManyFromIP = errors.New("too many connections from your address; try again later")
)

// Limiter counts open sessions.
type Limiter struct {
	max, perIP int
	mu         sync.Mutex
	total      int
	byIP       map[string]int
}

// New returns a limiter for max sessions in all and perIP per address.
func New(max, perIP int) *Limiter {
	return &Limiter{max: max, perIP: perIP, byIP: map[string]int{}}
}

// Acquire takes a slot for ip. The returned release gives it back; it is
// safe to call more than once.
func (l *Limiter) Acquire(ip net.IP) (release func(), err error) {
	k := ip.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max {
		return nil, ErrTooMany
	}
	if l.byIP[k] >= l.perIP {
		return nil, ErrTooManyFromIP
	}
	l.total++
	l.byIP[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byIP[k]--; l.byIP[k] == 0 {
				delete(l.byIP, k)
			}
		})
	}, nil
}
