package listen

// The PROXY protocol (v1 text and v2 binary, as HAProxy's send-proxy and
// send-proxy-v2 write them): a load balancer in front of ferry opens each
// forwarded connection with a header naming the client's real address.
// Every socket of the plan — the control listeners and the passive data
// ports — reads it here, so whatever looks at a connection's RemoteAddr
// afterwards (admission, the limits, the defender, the passive pool's
// address check, the logs and the audit log) sees the client and not the
// balancer.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
	proxyproto "github.com/pires/go-proxyproto"
)

// Errors of the PROXY protocol; a refused connection is closed.
var (
	// ErrProxyUntrusted: a PROXY header came from an address outside
	// proxy_protocol.trusted (someone trying to pass for another address).
	ErrProxyUntrusted = errors.New("PROXY header from an address not in proxy_protocol.trusted")
	// ErrProxyMissing: a trusted address sent no header while
	// proxy_protocol.required is on.
	ErrProxyMissing = errors.New("no PROXY header from a trusted address (proxy_protocol.required)")
	// ErrProxyHeader: the header is malformed, too long, or did not come
	// whole within the time allowed.
	ErrProxyHeader = errors.New("bad PROXY header")
)

// errProbe is a connection closed before its first byte: a port probe
// (a TCP health check, a scanner) refused without a word in the log.
var errProbe = fmt.Errorf("%w: closed before sending anything", ErrProxyMissing)

// headerTimeout bounds the reading of one header: HAProxy sends it with
// its first packet, so only a broken or hostile peer needs long.
var headerTimeout = 5 * time.Second

// optionalWait is how long a trusted address is given to start a header
// when headers are not required, before the connection is taken as
// direct: a client of a protocol where the server speaks first (FTP, SSH)
// sends nothing until greeted.
var optionalWait = 300 * time.Millisecond

// maxV2 bounds the address and TLV block of a v2 header (HAProxy's are a
// few dozen bytes; the format allows 64 KiB).
const maxV2 = 4096

// maxV1 is the longest v1 header line, CRLF included (the specification's
// figure).
const maxV1 = 107

// RefusedFunc is told of a connection the PROXY protocol refused: where
// (the service, and the passive port or 0), from whom (the socket's peer)
// and why. A stranger can cause refusals at will: log them rate-limited.
type RefusedFunc func(svc Service, port int, from netip.AddrPort, err error)

// proxy is a plan's PROXY protocol policy; nil when it is off.
type proxy struct {
	trusted  []netip.Prefix
	required bool
	timeout  time.Duration // headerTimeout
	pending  chan struct{} // one token per header being read

	mu      sync.Mutex
	refused RefusedFunc
}

func newProxy(c *config.Config) *proxy {
	nets := c.ProxyProtocol.Nets()
	if len(nets) == 0 {
		return nil
	}
	return &proxy{trusted: nets, required: c.ProxyProtocol.Required, timeout: headerTimeout,
		pending: make(chan struct{}, max(c.Limits.MaxPrelogin, 1))}
}

// OnProxyRefused sets what is told of each connection the PROXY protocol
// refuses.
func (p *Plan) OnProxyRefused(fn RefusedFunc) {
	if p.proxy == nil {
		return
	}
	p.proxy.mu.Lock()
	p.proxy.refused = fn
	p.proxy.mu.Unlock()
}

// ProxyTrusted are the addresses whose PROXY headers are read (nil: the
// PROXY protocol is off).
func (p *Plan) ProxyTrusted() []netip.Prefix {
	if p.proxy == nil {
		return nil
	}
	return p.proxy.trusted
}

func (x *proxy) report(svc Service, port int, from netip.AddrPort, err error) {
	x.mu.Lock()
	fn := x.refused
	x.mu.Unlock()
	if fn != nil {
		fn(svc, port, from, err)
	}
}

func (x *proxy) trusts(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, n := range x.trusted {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// accept turns a connection just accepted into the client's: from a
// trusted address its header is read (within headerTimeout); from any
// other address a header is refused on the first read. The caller closes
// c on error. It blocks while the header is read, so run it outside an
// accept loop.
func (x *proxy) accept(c net.Conn) (net.Conn, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	from := addrPort(tc.RemoteAddr())
	if !x.trusts(from.Addr()) {
		return &proxied{TCPConn: tc, sniff: true}, nil
	}
	return readHeader(tc, x.required, x.timeout)
}

// readHeader reads the header that a trusted peer puts first, within
// timeout.
func readHeader(tc *net.TCPConn, required bool, timeout time.Duration) (net.Conn, error) {
	start := time.Now()
	defer tc.SetReadDeadline(time.Time{})
	var first []byte
	if !required {
		tc.SetReadDeadline(start.Add(optionalWait))
		var one [1]byte
		if _, err := io.ReadFull(tc, one[:]); err != nil {
			if errors.Is(err, net.ErrClosed) || !isTimeout(err) {
				return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
			}
			return &proxied{TCPConn: tc}, nil // a direct client that waits to be greeted
		}
		first = one[:]
	}
	tc.SetReadDeadline(start.Add(timeout))
	b, version, err := signature(io.MultiReader(bytes.NewReader(first), tc))
	switch {
	case len(b) == 0 && errors.Is(err, io.EOF):
		return nil, errProbe
	case err != nil && len(b) == 0 && isTimeout(err):
		return nil, fmt.Errorf("%w: nothing within %s", ErrProxyMissing, timeout)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
	}
	switch version {
	case 0:
		if required {
			return nil, ErrProxyMissing
		}
		return &proxied{TCPConn: tc, pre: b}, nil
	case 1:
		for b[len(b)-1] != '\n' {
			if len(b) >= maxV1 {
				return nil, fmt.Errorf("%w: v1 line longer than %d bytes", ErrProxyHeader, maxV1)
			}
			var one [1]byte
			if _, err := io.ReadFull(tc, one[:]); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
			}
			b = append(b, one[0])
		}
	case 2:
		var rest [4]byte
		if _, err := io.ReadFull(tc, rest[:]); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
		}
		b = append(b, rest[:]...)
		n := int(binary.BigEndian.Uint16(rest[2:]))
		if n > maxV2 {
			return nil, fmt.Errorf("%w: v2 block of %d bytes (at most %d)", ErrProxyHeader, n, maxV2)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(tc, body); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
		}
		b = append(b, body...)
	}
	h, err := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(b), len(b)+16))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProxyHeader, err)
	}
	c := &proxied{TCPConn: tc}
	// LOCAL (the balancer's own health check) and UNSPEC carry no client:
	// the connection is the balancer's.
	if h.Command.IsProxy() {
		if a, ok := h.SourceAddr.(*net.TCPAddr); ok {
			c.remote = a
		}
	}
	return c, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// signature reads r one byte at a time while what it read may still begin
// a PROXY header, and returns the bytes read and the version whose
// signature they are, or 0 when they are not one (a direct client's first
// bytes, to be read again).
func signature(r io.Reader) ([]byte, int, error) {
	b := make([]byte, 0, 16)
	for {
		switch {
		case bytes.Equal(b, proxyproto.SIGV1):
			return b, 1, nil
		case bytes.Equal(b, proxyproto.SIGV2):
			return b, 2, nil
		case !bytes.HasPrefix(proxyproto.SIGV1, b) && !bytes.HasPrefix(proxyproto.SIGV2, b):
			return b, 0, nil
		}
		var one [1]byte
		if _, err := io.ReadFull(r, one[:]); err != nil {
			return b, 0, err
		}
		b = append(b, one[0])
	}
}

// proxied is a connection whose client address came in a PROXY header,
// or one from an untrusted address that must not send one (sniff). It
// stays a TCP connection underneath (deadlines, sendfile on writes, the
// poll for a closed peer); LocalAddr is the socket's own, which passive
// listeners bind to.
type proxied struct {
	*net.TCPConn
	remote net.Addr // nil: the socket's peer
	pre    []byte   // bytes read while looking for a header, read again first
	sniff  bool     // refuse a header on the first read (an untrusted peer)

	once   sync.Once
	err    error
	report func(error) // tells of a refused header; may be nil
}

func (c *proxied) check() {
	if !c.sniff {
		return
	}
	b, version, err := signature(c.TCPConn)
	c.pre = b
	switch {
	case version != 0:
		c.err = ErrProxyUntrusted
		if c.report != nil {
			c.report(c.err)
		}
	case err != nil && len(b) == 0:
		c.err = err
	}
}

// RemoteAddr is the client's address: the header's, else the socket's.
func (c *proxied) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.TCPConn.RemoteAddr()
}

func (c *proxied) Read(b []byte) (int, error) {
	c.once.Do(c.check)
	if c.err != nil {
		return 0, c.err
	}
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.TCPConn.Read(b)
}

// WriteTo keeps io.Copy from the connection going through Read's checks.
func (c *proxied) WriteTo(w io.Writer) (int64, error) {
	c.once.Do(c.check)
	if c.err != nil {
		return 0, c.err
	}
	var n int64
	if len(c.pre) > 0 {
		m, err := w.Write(c.pre)
		n += int64(m)
		c.pre = c.pre[m:]
		if err != nil {
			return n, err
		}
	}
	m, err := io.Copy(w, c.TCPConn)
	return n + m, err
}

// proxyListener reads the headers of a control listener's connections
// in the background, each within headerTimeout and at most
// limits.max_prelogin at once, so that a peer that sends nothing holds
// neither the accept loop nor more than its own slot.
type proxyListener struct {
	net.Listener
	x     *proxy
	svc   Service
	ready chan net.Conn
	errc  chan error
	done  chan struct{}
	once  sync.Once
}

func (x *proxy) listener(ln net.Listener, svc Service) net.Listener {
	l := &proxyListener{Listener: ln, x: x, svc: svc, ready: make(chan net.Conn),
		errc: make(chan error), done: make(chan struct{})}
	go l.loop()
	return l
}

func (l *proxyListener) loop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errc <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) || !isTemporaryErr(err) {
				return
			}
			continue
		}
		l.x.admit(c, l.svc, 0, l.done, func(c net.Conn) bool {
			select {
			case l.ready <- c:
				return true
			case <-l.done:
				return false
			}
		})
	}
}

// admit reads c's header in the background and hands the client's
// connection to deliver, which reports whether it took it; a refused
// connection is closed and reported.
func (x *proxy) admit(c net.Conn, svc Service, port int, done <-chan struct{}, deliver func(net.Conn) bool) {
	from := addrPort(c.RemoteAddr())
	fail := func(err error) {
		c.Close()
		if err != errProbe {
			x.report(svc, port, from, err)
		}
	}
	if !x.trusts(from.Addr()) {
		pc, _ := x.accept(c)
		if p, ok := pc.(*proxied); ok {
			p.report = func(err error) { x.report(svc, port, from, err) }
		}
		if !deliver(pc) {
			c.Close()
		}
		return
	}
	select {
	case x.pending <- struct{}{}:
	default:
		fail(fmt.Errorf("%w: %d headers are being read already (limits.max_prelogin)", ErrProxyHeader, cap(x.pending)))
		return
	}
	go func() {
		defer func() { <-x.pending }()
		pc, err := x.accept(c)
		if err != nil {
			fail(err)
			return
		}
		if !deliver(pc) {
			c.Close()
		}
	}()
}

func isTemporaryErr(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary() || isTimeout(err)
}

func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *proxyListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}
