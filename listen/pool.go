package listen

// The pool of passive data ports (PASV, RFC 959 §4.1.1; EPSV, RFC 2428
// §3): every passive listener ferry opens comes from here, on a port of
// the planned range.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/sock"
)

// Pool hands out the ports of a passive range, never one outside it, and
// at most perOwner of them to one owner at once: without the cap one
// account could hold every port (a PASV that no transfer uses is kept for
// a minute and can be renewed) and everybody else would get 425.
type Pool struct {
	ports    config.PortRange
	perOwner int

	mu     sync.Mutex
	held   map[int]string // port -> owner
	owners map[string]int // owner -> ports held
}

func newPool(ports config.PortRange, perOwner int) *Pool {
	return &Pool{ports: ports, perOwner: perOwner, held: map[int]string{}, owners: map[string]int{}}
}

// Range is the pool's port range.
func (p *Pool) Range() config.PortRange { return p.ports }

// PerOwner is the most ports one owner holds at once.
func (p *Pool) PerOwner() int { return p.perOwner }

// InUse is the number of ports ferry holds; the rest of the range is free
// or held by other programs.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

// Listen opens a listener on ip at a free port of the range for owner
// (the user name). It starts at a random port, so that a port just given
// back is not handed out again at once (a late connection meant for the
// previous holder would reach the next one), and skips the ports other
// programs hold. Errors wrap ErrPassivePerUser when owner is at the cap,
// ErrPassiveExhausted when no port is free.
func (p *Pool) Listen(ip netip.Addr, owner string) (*PassiveListener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := p.owners[owner]; n >= p.perOwner {
		return nil, fmt.Errorf("%w: %q holds %d (ftp.passive_per_user = %d)", ErrPassivePerUser, owner, n, p.perOwner)
	}
	n := p.ports.Size()
	if len(p.held) < n {
		start := rand.IntN(n)
		for i := range n {
			port := p.ports.Low + (start+i)%n
			if _, taken := p.held[port]; taken {
				continue
			}
			ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port))))
			if err != nil {
				if sock.AddrInUse(err) {
					continue // another program holds it
				}
				return nil, fmt.Errorf("passive listen on port %d: %w", port, err)
			}
			p.held[port] = owner
			p.owners[owner]++
			return &PassiveListener{TCPListener: ln, Port: port, pool: p}, nil
		}
	}
	return nil, fmt.Errorf("%w (%s)", ErrPassiveExhausted, p.ports)
}

func (p *Pool) release(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	owner, ok := p.held[port]
	if !ok {
		return
	}
	delete(p.held, port)
	if p.owners[owner]--; p.owners[owner] == 0 {
		delete(p.owners, owner)
	}
}

// PassiveListener is one port of the pool, held from Pool.Listen until
// Close. Accept and SetDeadline are those of the TCP listener.
type PassiveListener struct {
	*net.TCPListener
	// Port is the port listened on, for the 227 or 229 reply.
	Port int

	pool *Pool
	once sync.Once
	err  error
}

// Close stops listening and gives the port back to the pool. It may be
// called more than once, and concurrently with Accept.
func (l *PassiveListener) Close() error {
	l.once.Do(func() {
		l.err = l.TCPListener.Close()
		l.pool.release(l.Port)
	})
	return l.err
}
