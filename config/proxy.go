package config

import "net/netip"

// ProxyProtocol configures the PROXY protocol (v1 and v2) that a load
// balancer in front of ferry (HAProxy's send-proxy-v2) puts before each
// connection it forwards, control and passive data alike, to tell the
// client's real address. With Trusted empty the header is never read.
type ProxyProtocol struct {
	// Trusted are the addresses or networks whose connections carry a
	// header; a header from any other address is refused.
	Trusted []string `toml:"trusted"`
	// Required refuses a connection from a trusted address that comes
	// without a header; otherwise such a connection is taken as direct.
	Required bool `toml:"required"`

	nets []netip.Prefix
}

// Nets are the trusted networks, once the configuration is validated.
func (p *ProxyProtocol) Nets() []netip.Prefix { return p.nets }

func (p *ProxyProtocol) validate() error {
	nets, err := Prefixes(p.Trusted)
	if err != nil {
		return keyErr("proxy_protocol.trusted", "%v", err)
	}
	if p.Required && len(nets) == 0 {
		return keyErr("proxy_protocol.required", "needs proxy_protocol.trusted: the balancers' addresses")
	}
	p.nets = nets
	return nil
}
