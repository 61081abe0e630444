package ftp

// TLS on data connections (RFC 4217) and the per-session TLS configuration.

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// errNoReuse refuses a PROT P data connection that did not resume the
// control connection's TLS session.
var errNoReuse = errors.New("the data connection's TLS session must resume the control connection's session")

// secureData runs the TLS handshake on a data connection (the server is
// always the TLS server, RFC 4217 §7) and enforces session reuse.
func secureData(ctx context.Context, c net.Conn, cfg *tls.Config, reuse bool) (*tls.Conn, error) {
	tc := tls.Server(c, cfg)
	hctx, cancel := context.WithTimeout(ctx, dataTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake on the data connection: %w", err)
	}
	if reuse && !tc.ConnectionState().DidResume {
		return nil, errNoReuse
	}
	return tc, nil
}

// sessionTLS is a session's own TLS configuration: a clone of the base
// with a fresh session ticket key, so that only tickets this session's
// control connection issued can resume on its data connections.
func sessionTLS(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	var key [32]byte
	crand.Read(key[:])
	cfg.SessionTicketsDisabled = false
	cfg.DynamicRecordSizingDisabled = true // bulk data: full records from the start
	cfg.SetSessionTicketKeys([][32]byte{key})
	return cfg
}

func addrOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
