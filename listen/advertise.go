package listen

// The address passive replies carry (227 for PASV, RFC 959 §4.1.1): behind
// NAT the server sees its private address, and clients must be told the
// public one.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ferry-project/ferry/config"
)

// Override gives clients from Networks another passive address
// (ftp.passive_override): Address, an IP or a host name, or the control
// connection's local address when Address is "" (LAN clients behind the
// same NAT as the server).
type Override struct {
	Networks []netip.Prefix
	Address  string
}

// resolveEvery is how long a resolved host name is trusted before it is
// looked up again: public_host may be a dynamic DNS name.
const resolveEvery = 3 * time.Minute

// resolveTimeout bounds one lookup; a passive reply waits for it.
const resolveTimeout = 5 * time.Second

// Advertise is the address a passive reply tells the client at remote
// whose control connection reached the server at local: the override of
// the client's network, else public_host, else local. log records a
// changed or failed resolution of a host name.
func (p *Plan) Advertise(ctx context.Context, log *slog.Logger, remote, local netip.Addr) (netip.Addr, error) {
	a := p.adv.Load()
	remote = remote.Unmap().WithZone("") // a zoned address matches no prefix
	for i, o := range a.overrides {
		for _, n := range o.Networks {
			if !n.Contains(remote) {
				continue
			}
			if a.over[i] == nil {
				return local, nil
			}
			return a.over[i].get(ctx, log)
		}
	}
	if a.public != nil {
		return a.public.get(ctx, log)
	}
	return local, nil
}

// advertised is what Advertise answers from: public_host and the passive
// overrides, swapped whole by SetAdvertised (a reload).
type advertised struct {
	overrides []Override
	over      []*hostAddr // overrides[i].Address, nil when ""
	public    *hostAddr   // nil without public_host
}

func newAdvertised(c *config.Config) *advertised {
	a := &advertised{}
	if c.PublicHost != "" {
		a.public = newHostAddr(c.PublicHost)
	}
	for _, o := range c.FTP.PassiveOverride {
		a.overrides = append(a.overrides, Override{Networks: prefixes(o.IPNets()), Address: o.Address})
		var h *hostAddr
		if o.Address != "" {
			h = newHostAddr(o.Address)
		}
		a.over = append(a.over, h)
	}
	return a
}

// SetAdvertised makes passive replies follow c's public_host and
// ftp.passive_override from the next PASV or EPSV on (a reload).
func (p *Plan) SetAdvertised(c *config.Config) { p.adv.Store(newAdvertised(c)) }

// hostAddr is an address from the configuration: an IP literal, or a host
// name resolved again every resolveEvery (dynamic DNS), preferring IPv4
// since PASV can carry nothing else.
type hostAddr struct {
	name   string
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)

	mu sync.Mutex
	ip netip.Addr
	at time.Time // zero for an IP literal, which never expires
}

func newHostAddr(name string) *hostAddr {
	h := &hostAddr{name: name, lookup: net.DefaultResolver.LookupNetIP}
	if ip, err := netip.ParseAddr(name); err == nil {
		h.ip = ip.Unmap()
	}
	return h
}

// errNoAddress is a lookup that succeeded with no address.
var errNoAddress = errors.New("no address")

func (h *hostAddr) get(ctx context.Context, log *slog.Logger) (netip.Addr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ip.IsValid() && (h.at.IsZero() || time.Since(h.at) < resolveEvery) {
		return h.ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := h.lookup(ctx, "ip", h.name)
	var best netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if !best.IsValid() || ip.Is4() && !best.Is4() {
			best = ip
		}
	}
	if err == nil && !best.IsValid() {
		err = errNoAddress
	}
	if err != nil {
		if h.ip.IsValid() {
			log.Warn("cannot resolve the passive address again; keeping the last one", "host", h.name, "ip", h.ip.String(), "err", err)
			h.at = time.Now()
			return h.ip, nil
		}
		return netip.Addr{}, fmt.Errorf("resolve %s: %w", h.name, err)
	}
	if best != h.ip {
		log.Info("passive address resolved", "host", h.name, "ip", best.String())
	}
	h.ip, h.at = best, time.Now()
	return best, nil
}
