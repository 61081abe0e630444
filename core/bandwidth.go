package core

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// Direction is the way a transfer's bytes go.
type Direction int

// Directions of a transfer, for Conn.Rate.
const (
	Up   Direction = iota // an upload, client to server
	Down                  // a download, server to client
)

// bandwidth holds the limiters of [bandwidth]: one per direction for the
// whole server, and one per direction for each user, shared by the
// user's sessions. Users are created lazily and kept: they are the
// accounts that logged in, not strangers.
type bandwidth struct {
	global [2]*rate.Limiter
	user   [2]rate.Limit

	mu    sync.Mutex
	users map[string]*[2]*rate.Limiter
}

// limiter allows bytesPerSec with a burst of a tenth of a second, and at
// least one copy buffer, so that one chunk of a transfer is one wait; nil
// for no limit.
func limiter(bytesPerSec int64) *rate.Limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bytesPerSec), int(max(bytesPerSec/10, BufSize)))
}

func newBandwidth(up, down, userUp, userDown int64) *bandwidth {
	return &bandwidth{
		global: [2]*rate.Limiter{limiter(up), limiter(down)},
		user:   [2]rate.Limit{rate.Limit(userUp), rate.Limit(userDown)},
		users:  map[string]*[2]*rate.Limiter{},
	}
}

// Rate is the wait a transfer of this session in direction d makes for
// every n bytes it moved (Transfer.Rate), or nil when neither the server
// nor the user is limited that way.
func (cn *Conn) Rate(d Direction) func(n int64) {
	b := cn.core.bw
	var lims []*rate.Limiter
	if l := b.global[d]; l != nil {
		lims = append(lims, l)
	}
	if b.user[d] > 0 {
		name := cn.User().Name
		b.mu.Lock()
		u := b.users[name]
		if u == nil {
			u = &[2]*rate.Limiter{limiter(int64(b.user[Up])), limiter(int64(b.user[Down]))}
			b.users[name] = u
		}
		b.mu.Unlock()
		lims = append(lims, u[d])
	}
	if len(lims) == 0 {
		return nil
	}
	return func(n int64) {
		for _, l := range lims {
			for left := n; left > 0; {
				k := min(left, int64(l.Burst()))
				l.WaitN(context.Background(), int(k))
				left -= k
			}
		}
	}
}
