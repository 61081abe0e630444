package listen

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/ferry-project/ferry/internal/sock"
)

// DialActive opens the active data connection of service (PORT, RFC 959
// §4.1.2; EPRT, RFC 2428 §2) from local to the client at to, from the
// plan's active source port, or any port when that is 0. SO_REUSEADDR
// lets several transfers share the source port at once (their four-tuples
// differ) and reuse it while it is in TIME_WAIT. ctx bounds the connect.
func (p *Plan) DialActive(ctx context.Context, service Service, local netip.Addr, to netip.AddrPort) (net.Conn, error) {
	e, ok := p.Find(service, Active)
	if !ok {
		return nil, fmt.Errorf("%s: %w", service, ErrNoActive)
	}
	if p.privileged != nil && e.Ports.Low != 0 && e.Ports.Low < 1024 {
		return p.privileged(ctx, local, e.Ports.Low, to)
	}
	d := net.Dialer{
		LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(local, uint16(e.Ports.Low))),
		Control:   sock.ReuseAddr,
	}
	c, err := d.DialContext(ctx, "tcp", to.String())
	if err != nil {
		return nil, fmt.Errorf("%s: active connect to %s from port %d: %w", service, to, e.Ports.Low, err)
	}
	return c, nil
}

// DialFunc dials from local:srcPort to to.
type DialFunc func(ctx context.Context, local netip.Addr, srcPort int, to netip.AddrPort) (net.Conn, error)

// DialPrivileged makes DialActive use dial for source ports below 1024:
// after ferry has dropped root (run_as), a privileged helper dials them.
func (p *Plan) DialPrivileged(dial DialFunc) { p.privileged = dial }
