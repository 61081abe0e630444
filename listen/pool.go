package listen

// The pool of passive data ports (PASV, RFC 959 §4.1.1; EPSV, RFC 2428
// §3): every passive listener ferry opens comes from here, on a port of
// the planned range.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/sock"
)

// Pool hands out the ports of a passive range, never one outside it, and
// at most perOwner waits to one owner at once: without the cap one account
// could hold every port (a PASV that no transfer uses is kept for a minute
// and can be renewed) and everybody else would get 425.
//
// Each open port has one TCP listener, and a wait on it names the client
// address it waits for: an incoming connection goes to the wait of its
// address, and is closed and logged when there is none (someone racing for
// the port, or a client that gave up). With sharing (ftp.passive_sharing)
// several waits from different client addresses share a port, as AWS
// Transfer Family does, so a range of a few ports serves many clients at
// once; two waits from one address never share a port, since nothing on
// the connection would tell them apart. Sharing is used only when every
// port of the range is open already.
type Pool struct {
	ports    config.PortRange
	perOwner int
	share    bool
	proxy    *proxy // reads the PROXY header of each data connection; nil when off

	mu      sync.Mutex
	refused func(port int, from netip.AddrPort)
	open    map[int]*port  // port -> its listener and waits
	owners  map[string]int // owner -> waits
}

// port is one open port of the range.
type port struct {
	n     int
	local netip.Addr
	ln    *net.TCPListener
	waits map[netip.Addr]*PassiveListener // client address -> its wait
}

func newPool(ports config.PortRange, perOwner int, share bool) *Pool {
	return &Pool{ports: ports, perOwner: perOwner, share: share,
		open: map[int]*port{}, owners: map[string]int{}}
}

// OnRefused sets what is called, after the connection is closed, for
// each data connection that no wait takes: a stranger can repeat it at
// will, so the caller logs it rate-limited.
func (p *Pool) OnRefused(fn func(port int, from netip.AddrPort)) {
	p.mu.Lock()
	p.refused = fn
	p.mu.Unlock()
}

// Range is the pool's port range.
func (p *Pool) Range() config.PortRange { return p.ports }

// PerOwner is the most waits one owner holds at once.
func (p *Pool) PerOwner() int { return p.perOwner }

// Sharing reports whether several client addresses may wait on one port.
func (p *Pool) Sharing() bool { return p.share }

// InUse is the number of ports ferry holds open; the rest of the range is
// free or held by other programs.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open)
}

// Listen opens a wait for one data connection from client, on a port of
// the range on the local address, for owner (the user name). It starts at
// a random port, so that a port just given back is not handed out again
// at once, and skips the ports other programs hold. When no port is free
// and sharing is on, it joins an open port on which client does not wait
// yet. Errors wrap ErrPassivePerUser when owner is at the cap,
// ErrPassiveExhausted when no port can take the wait.
func (p *Pool) Listen(local, client netip.Addr, owner string) (*PassiveListener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.owners[owner]; n >= p.perOwner {
		return nil, fmt.Errorf("%w: %q holds %d (ftp.passive_per_user = %d)", ErrPassivePerUser, owner, n, p.perOwner)
	}
	n := p.ports.Size()
	start := rand.IntN(n)
	for i := range n {
		num := p.ports.Low + (start+i)%n
		if _, taken := p.open[num]; taken {
			continue
		}
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, uint16(num))))
		if err != nil {
			if sock.AddrInUse(err) {
				continue // another program holds it
			}
			return nil, fmt.Errorf("passive listen on port %d: %w", num, err)
		}
		pt := &port{n: num, local: local, ln: ln, waits: map[netip.Addr]*PassiveListener{}}
		p.open[num] = pt
		go p.serve(pt)
		return p.wait(pt, client, owner), nil
	}
	if p.share {
		for i := range n {
			pt := p.open[p.ports.Low+(start+i)%n]
			if pt == nil || pt.local != local {
				continue
			}
			if _, busy := pt.waits[client]; !busy {
				return p.wait(pt, client, owner), nil
			}
		}
	}
	return nil, fmt.Errorf("%w (%s)", ErrPassiveExhausted, p.ports)
}

// wait registers a wait on pt; p.mu is held.
func (p *Pool) wait(pt *port, client netip.Addr, owner string) *PassiveListener {
	l := &PassiveListener{Port: pt.n, addr: pt.ln.Addr(), pool: p, pt: pt, client: client, owner: owner,
		conn: make(chan net.Conn, 1), closed: make(chan struct{})}
	pt.waits[client] = l
	p.owners[owner]++
	return l
}

// serve accepts on one port until its last wait is gone and hands each
// connection to the wait of its address.
func (p *Pool) serve(pt *port) {
	for {
		c, err := pt.ln.Accept()
		if err != nil {
			return // closed with its last wait
		}
		if p.proxy != nil {
			// The header names the client the wait is for; it is read
			// apart, so one silent peer holds no other connection back.
			p.proxy.admit(c, FTP, pt.n, nil, func(c net.Conn) bool { p.deliver(pt, c); return true })
			continue
		}
		p.deliver(pt, c)
	}
}

// deliver hands c to the wait of its client address on pt, or closes it.
func (p *Pool) deliver(pt *port, c net.Conn) {
	from := addrPort(c.RemoteAddr())
	p.mu.Lock()
	w := pt.waits[from.Addr()]
	if w != nil {
		delete(pt.waits, from.Addr()) // one data connection per PASV/EPSV
		w.conn <- c
	}
	refused := p.refused
	p.mu.Unlock()
	if w == nil {
		c.Close()
		if refused != nil {
			refused(pt.n, from)
		}
	}
}

func (p *Pool) release(l *PassiveListener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := l.pt.waits[l.client]; w == l {
		delete(l.pt.waits, l.client)
	}
	if p.owners[l.owner]--; p.owners[l.owner] == 0 {
		delete(p.owners, l.owner)
	}
	if len(l.pt.waits) == 0 && p.open[l.pt.n] == l.pt {
		delete(p.open, l.pt.n)
		l.pt.ln.Close()
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// PassiveListener is one wait on a port of the pool, held from Pool.Listen
// until Close: Accept returns the one data connection from its client.
type PassiveListener struct {
	// Port is the port listened on, for the 227 or 229 reply.
	Port int

	addr   net.Addr
	pool   *Pool
	pt     *port
	client netip.Addr
	owner  string
	conn   chan net.Conn
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time
}

// Addr is the address listened on.
func (l *PassiveListener) Addr() net.Addr { return l.addr }

// SetDeadline bounds the next Accept; a zero time means no bound.
func (l *PassiveListener) SetDeadline(t time.Time) error {
	l.mu.Lock()
	l.deadline = t
	l.mu.Unlock()
	return nil
}

// Accept waits for the data connection from the client. It returns an
// error wrapping os.ErrDeadlineExceeded at the deadline and net.ErrClosed
// once Close was called.
func (l *PassiveListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	d := l.deadline
	l.mu.Unlock()
	var expire <-chan time.Time
	if !d.IsZero() {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		expire = t.C
	}
	select {
	case c := <-l.conn:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-expire:
		return nil, fmt.Errorf("passive port %d: %w", l.Port, os.ErrDeadlineExceeded)
	}
}

// Close ends the wait and, with the last wait of its port, gives the port
// back to the pool; a connection delivered but not accepted is closed. It
// may be called more than once, and concurrently with Accept.
func (l *PassiveListener) Close() error {
	l.once.Do(func() {
		l.pool.release(l)
		close(l.closed)
		select {
		case c := <-l.conn:
			c.Close()
		default:
		}
	})
	return nil
}
