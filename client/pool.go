package client

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Pool holds one command's connections to one server: the first, dialled
// by NewPool, and up to Max-1 more opened when transfers run side by side.
// A connection is logged in once and then reused file after file; the
// others are clones of the first (no second password prompt, the HTTP
// bearer token and SFTP limits shared, and over FTPS each connection's
// data connections resume its own TLS session).
type Pool struct {
	first  Conn
	owned  bool // Close closes the connections
	mu     sync.Mutex
	cond   *sync.Cond
	idle   []Conn
	open   int // connections in existence, idle or lent
	max    int
	closed bool // no more lending
	shut   bool // connections closed
	all    []Conn
	// lent counts the borrowers of each connection lent out; a sharer
	// is lent to several at once.
	lent   map[Conn]int
	rt     time.Duration
	notice func(format string, args ...any)
}

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("connection pool closed")

// NewPool dials the first connection; size bounds how many it may hold
// (at least 1).
func NewPool(t Target, o Options, size int) (*Pool, error) {
	o.Prompt = rememberPrompt(o.Prompt)
	c, err := Dial(t, o)
	if err != nil {
		return nil, err
	}
	p := newPool(c, size, true)
	p.notice = o.notice
	return p, nil
}

// poolOf lends a single connection that the caller keeps owning.
func poolOf(c Conn) *Pool { return newPool(c, 1, false) }

func newPool(c Conn, size int, owned bool) *Pool {
	p := &Pool{first: c, owned: owned, max: max(size, 1), open: 1, idle: []Conn{c}, all: []Conn{c}, lent: map[Conn]int{}}
	if _, ok := c.(cloner); !ok {
		p.max = 1
	}
	if r, ok := c.(rtter); ok {
		p.rt = r.rtt()
	}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// rememberPrompt asks each question once: a pool dials several
// connections with one password.
func rememberPrompt(ask func(string) (string, error)) func(string) (string, error) {
	if ask == nil {
		return nil
	}
	var mu sync.Mutex
	answers := map[string]string{}
	return func(q string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := answers[q]; ok {
			return a, nil
		}
		a, err := ask(q)
		if err == nil {
			answers[q] = a
		}
		return a, err
	}
}

// Max is how many connections the pool may hold now.
func (p *Pool) Max() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// RTT is the shortest round trip seen while connecting (0: unknown).
func (p *Pool) RTT() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rt
}

// Get lends a connection: an idle one, a new one while below Max, a
// share of one that carries several transfers at once (SFTP, HTTP), or
// the next one returned.
func (p *Pool) Get() (Conn, error) {
	return p.get(true, true, false)
}

// getNear lends a connection for a few small requests (a folder
// listing): it shares one already open before it dials, as many requests
// travel at once on an SFTP session and a dial costs ten round trips.
func (p *Pool) getNear() (Conn, error) {
	return p.get(true, true, true)
}

// tryGet lends a connection of its own (not shared: a segment wants
// another stream) only if one is idle or can be dialled now.
func (p *Pool) tryGet() (Conn, bool) {
	c, err := p.get(false, false, false)
	return c, err == nil && c != nil
}

// warm dials, in the background, the connections that n transfers at
// once will want (a tree: while it is walked), so that the logins' round
// trips overlap the walk's rather than follow them.
func (p *Pool) warm(n int) {
	p.mu.Lock()
	_, sharing := p.first.(sharer)
	if sharing {
		n = min(n, maxSharedConns)
	}
	n = min(n, p.max) - p.open
	p.mu.Unlock()
	for range n {
		go func() {
			if c, ok := p.tryGet(); ok {
				p.Put(c)
			}
		}()
	}
}

// sharer is a connection that carries several transfers at once: SFTP
// requests of several files interleave on one session, HTTP/2 streams on
// one connection.
type sharer interface {
	// shares is how many transfers it carries at once.
	shares() int
}

// maxSharedConns is how many connections a pool of sharers dials before
// it shares them: each is a TCP stream (and an SSH channel window) of its
// own, which is what fills a long path.
const maxSharedConns = 8

func (p *Pool) get(wait, share, near bool) (Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return nil, ErrPoolClosed
		}
		if n := len(p.idle); n > 0 {
			c := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.lent[c]++
			return c, nil
		}
		_, sharing := p.first.(sharer)
		if near && sharing {
			if c := p.leastShared(); c != nil {
				p.lent[c]++
				return c, nil
			}
		}
		if p.open < p.max && (!share || !sharing || p.open < maxSharedConns) {
			p.open++
			p.mu.Unlock()
			c, err := p.first.(cloner).clone()
			if pr, ok := c.(prober); ok && err == nil {
				if err = pr.probe(); err != nil {
					c.Close()
				}
			}
			p.mu.Lock()
			if err == nil {
				if p.closed {
					c.Close()
					return nil, ErrPoolClosed
				}
				p.all = append(p.all, c)
				p.lent[c]++
				if r, ok := c.(rtter); ok && r.rtt() > 0 && (p.rt == 0 || r.rtt() < p.rt) {
					p.rt = r.rtt()
				}
				return c, nil
			}
			// The server takes no more connections from us (a limit per
			// address or user): go on with those open.
			p.open--
			if p.open > 0 {
				p.max = p.open
				if p.notice != nil {
					p.notice("the server refused another connection (%v); going on with %d", err, p.open)
				}
				p.cond.Broadcast()
			} else {
				return nil, err
			}
			continue
		}
		if share {
			if c := p.leastShared(); c != nil {
				p.lent[c]++
				return c, nil
			}
		}
		if !wait {
			return nil, nil
		}
		p.cond.Wait()
	}
}

// leastShared is the lent connection with the fewest borrowers that can
// take one more, or nil.
func (p *Pool) leastShared() Conn {
	var best Conn
	for _, c := range p.all {
		s, ok := c.(sharer)
		n := p.lent[c]
		if !ok || n == 0 || n >= s.shares() {
			continue
		}
		if best == nil || n < p.lent[best] {
			best = c
		}
	}
	return best
}

// Shares is how many transfers the pool's connections carry at once
// together: Max, times what one connection carries for a sharer.
func (p *Pool) Shares() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.first.(sharer); ok {
		return min(p.max, maxSharedConns) * s.shares()
	}
	return p.max
}

// Put returns a connection for reuse.
func (p *Pool) Put(c Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.holds(c) {
		return
	}
	if p.lent[c]--; p.lent[c] <= 0 {
		delete(p.lent, c)
		p.idle = append(p.idle, c)
	}
	p.cond.Signal()
}

// holds reports whether c is one of the pool's live connections.
func (p *Pool) holds(c Conn) bool {
	for _, x := range p.all {
		if x == c {
			return true
		}
	}
	return false
}

// drop discards a connection that failed; a new one may be dialled in
// its place. The first connection is kept: it owns what clones share.
// Those sharing a dropped connection fail on it and drop it again, which
// does nothing more.
func (p *Pool) drop(c Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.holds(c) {
		return
	}
	if c == p.first {
		if p.lent[c]--; p.lent[c] <= 0 {
			delete(p.lent, c)
			p.idle = append(p.idle, c)
		}
		p.cond.Signal()
		return
	}
	for i, x := range p.all {
		if x == c {
			p.all = append(p.all[:i], p.all[i+1:]...)
			break
		}
	}
	delete(p.lent, c)
	p.open--
	go c.Close()
	p.cond.Broadcast()
}

// refused drops c, which the server cut before it carried anything (a
// limit of connections per address, shared with others), and keeps the
// pool to the connections left, as when a dial is refused.
func (p *Pool) refused(c Conn, err error) {
	p.drop(c)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open > 0 && p.open < p.max {
		p.max = p.open
		if p.notice != nil {
			p.notice("the server cut a connection before it carried anything (%v); going on with %d", err, p.open)
		}
	}
}

// release returns c to the pool, or drops it when err says the connection
// itself failed.
func (p *Pool) release(c Conn, err error) {
	if err != nil && (errors.Is(err, ErrConnect) || errors.Is(err, ErrIncomplete)) {
		p.drop(c)
		return
	}
	p.Put(c)
}

// Close closes every connection (the first last: the clones of an HTTP
// connection share its token, which closing it revokes).
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return nil
	}
	p.closed, p.shut = true, true
	all := p.all
	p.cond.Broadcast()
	p.mu.Unlock()
	if !p.owned {
		return nil
	}
	var first error
	for i := len(all) - 1; i >= 0; i-- {
		if err := all[i].Close(); err != nil && first == nil && all[i] == p.first {
			first = fmt.Errorf("closing: %w", err)
		}
	}
	return first
}

// Abort closes every connection at once, lent ones included, to stop
// transfers that are blocked on the network (an interrupt).
func (p *Pool) Abort() {
	p.mu.Lock()
	all := append([]Conn(nil), p.all...)
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, c := range all {
		if a, ok := c.(aborter); ok {
			a.abort()
		} else {
			c.Close()
		}
	}
}
