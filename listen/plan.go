package listen

import (
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"

	"github.com/ferry-project/ferry/config"
)

// Service names a protocol endpoint that ferry offers.
type Service string

// The services of the design document.
const (
	FTP         Service = "ftp"           // FTP with explicit FTPS (AUTH TLS)
	FTPImplicit Service = "ftps-implicit" // implicit FTPS
	SFTP        Service = "sftp"
	HTTP        Service = "http"
	HTTPS       Service = "https"
	// Metrics is the Prometheus listener ([metrics] listen).
	Metrics Service = "metrics"
)

// Kind says how a socket of the plan is used.
type Kind string

// Kinds of sockets.
const (
	// Control is a listening socket that clients connect to.
	Control Kind = "control"
	// Passive is the range of ports the server listens on for FTP passive
	// data connections.
	Passive Kind = "passive"
	// Active is the source port of FTP active data connections, which the
	// server opens to the client. Ports.Low == 0 means any source port.
	Active Kind = "active"
	// Local is a listener for the administrator's tools (the metrics),
	// bound to an address of its own: the firewall rules, which cover
	// Control entries, leave it closed to the outside.
	Local Kind = "local"
)

// Entry is one socket, or one range of sockets, of the plan.
type Entry struct {
	Service Service
	Kind    Kind
	Ports   config.PortRange
	// TLS says whether the connection is encrypted: "implicit" from the first
	// byte, "explicit" after AUTH TLS (or "optional"), or "" for none.
	TLS     string
	Purpose string
}

// Plan is the listener plan of one configuration: the sockets, and what
// the server and the firewall planner need to know about reaching them.
// Servers open passive ports through Passive and active connections
// through DialActive, so one Plan is shared by everything `ferry serve`
// starts.
type Plan struct {
	// Address is the local address every listener binds ("" for all).
	Address string
	Entries []Entry
	// PublicHost is the address or host name clients reach the server at
	// (public_host); "" means none is configured.
	PublicHost string
	// Overrides give some client networks another passive address.
	Overrides []Override
	// PassivePerUser is the most passive ports one user holds at once
	// (ftp.passive_per_user).
	PassivePerUser int
	// PassiveSharing: sessions from different client addresses may wait
	// on one passive port at once (ftp.passive_sharing).
	PassiveSharing bool
	// MaxConnections and MaxConnectionsPerIP are the session limits
	// (limits.max_connections, limits.max_connections_per_ip): every
	// session may be waiting for a passive data connection at once.
	MaxConnections, MaxConnectionsPerIP int

	localHost string // the host of the Local entry ([metrics] listen)

	pool  *Pool                      // the passive range, shared by FTP and implicit FTPS
	proxy *proxy                     // the PROXY protocol; nil when off
	adv   atomic.Pointer[advertised] // what passive replies tell; SetAdvertised swaps it
	// privileged dials active connections from ports below 1024 once
	// ferry runs without root (DialPrivileged); nil dials directly.
	privileged DialFunc
}

// New computes the plan for a validated configuration.
func New(c *config.Config) *Plan {
	p := &Plan{
		Address:             c.ListenAddress,
		PublicHost:          c.PublicHost,
		MaxConnections:      c.Limits.MaxConnections,
		MaxConnectionsPerIP: c.Limits.MaxConnectionsPerIP,
	}
	p.adv.Store(newAdvertised(c))
	p.proxy = newProxy(c)
	one := func(port int) config.PortRange { return config.PortRange{Low: port, High: port} }
	if f := c.FTP; f.Enabled {
		explicit := "explicit"
		switch f.TLS {
		case config.TLSOff:
			explicit = ""
		case config.TLSOptional:
			explicit = "optional"
		}
		p.Entries = append(p.Entries, Entry{FTP, Control, one(f.Port), explicit, "FTP control (explicit FTPS)"})
		if f.ImplicitPort != 0 {
			p.Entries = append(p.Entries, Entry{FTPImplicit, Control, one(f.ImplicitPort), "implicit", "implicit FTPS control"})
		}
		p.PassivePerUser, p.PassiveSharing = f.PassivePerUser, f.PassiveSharing
		p.pool = newPool(f.PassiveRange(), f.PassivePerUser, f.PassiveSharing)
		p.pool.proxy = p.proxy
		p.Overrides = p.adv.Load().overrides
		p.Entries = append(p.Entries, Entry{FTP, Passive, f.PassiveRange(), explicit, "FTP passive data"})
		if f.ImplicitPort != 0 {
			p.Entries = append(p.Entries, Entry{FTPImplicit, Passive, f.PassiveRange(), "implicit", "implicit FTPS passive data"})
		}
		if f.Active {
			p.Entries = append(p.Entries, Entry{FTP, Active, one(f.ActiveSource(f.Port)), explicit, "FTP active data (server connects out)"})
			if f.ImplicitPort != 0 {
				p.Entries = append(p.Entries, Entry{FTPImplicit, Active, one(f.ActiveSource(f.ImplicitPort)), "implicit", "implicit FTPS active data (server connects out)"})
			}
		}
	}
	if c.SFTP.Enabled {
		p.Entries = append(p.Entries, Entry{SFTP, Control, one(c.SFTP.Port), "ssh", "SFTP (SSH)"})
	}
	if h := c.HTTP; h.Enabled {
		if h.Port != 0 {
			purpose := "HTTP (redirects to HTTPS)"
			if h.HTTPSPort == 0 {
				purpose = "HTTP web client, API and /healthz"
			}
			p.Entries = append(p.Entries, Entry{HTTP, Control, one(h.Port), "", purpose})
		}
		if h.HTTPSPort != 0 {
			p.Entries = append(p.Entries, Entry{HTTPS, Control, one(h.HTTPSPort), "implicit", "HTTPS web client, API and /healthz"})
		}
	}
	if c.Metrics.Listen != "" {
		host, port, _ := net.SplitHostPort(c.Metrics.Listen)
		n, _ := strconv.Atoi(port)
		p.localHost = host
		p.Entries = append(p.Entries, Entry{Metrics, Local, one(n), "", "Prometheus metrics (closed to the outside)"})
	}
	return p
}

func prefixes(nets []*net.IPNet) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(nets))
	for _, n := range nets {
		ip, _ := netip.AddrFromSlice(n.IP)
		ones, _ := n.Mask.Size()
		if ip.Is4In6() && ones >= 96 {
			ip, ones = ip.Unmap(), ones-96
		}
		out = append(out, netip.PrefixFrom(ip, ones))
	}
	return out
}

// Find returns the entry of a service and kind, if the plan has one.
func (p *Plan) Find(s Service, k Kind) (Entry, bool) {
	for _, e := range p.Entries {
		if e.Service == s && e.Kind == k {
			return e, true
		}
	}
	return Entry{}, false
}

// Addr is the host:port a control listener of the plan binds.
func (p *Plan) Addr(e Entry) string {
	if e.Kind == Local {
		return net.JoinHostPort(p.localHost, strconv.Itoa(e.Ports.Low))
	}
	return net.JoinHostPort(p.Address, strconv.Itoa(e.Ports.Low))
}

// Listen opens the control listener of one entry with a clear error when
// the port is privileged or taken. With the PROXY protocol on, its
// connections come with the client's address (the Local entry, closed to
// the outside, takes none).
func (p *Plan) Listen(e Entry) (net.Listener, error) {
	ln, err := net.Listen("tcp", p.Addr(e))
	if err != nil {
		return nil, BindError(e.Service, e.Ports.Low, keyFor(e), err)
	}
	if p.proxy != nil && e.Kind == Control {
		return p.proxy.listener(ln, e.Service), nil
	}
	return ln, nil
}

// Passive is the pool of passive data ports of service, or nil when the
// service has none. FTP and implicit FTPS share one range, so they share
// one pool.
func (p *Plan) Passive(service Service) *Pool {
	if _, ok := p.Find(service, Passive); !ok {
		return nil
	}
	return p.pool
}

func keyFor(e Entry) string {
	switch e.Service {
	case FTP:
		return "ftp.port"
	case FTPImplicit:
		return "ftp.implicit_port"
	case SFTP:
		return "sftp.port"
	case HTTP:
		return "http.port"
	case HTTPS:
		return "http.https_port"
	case Metrics:
		return "metrics.listen"
	}
	return string(e.Service)
}

// URL is how a client names a control entry of the plan at host, in the
// schemes of ferry's client: ftp:// (or ftpes:// when TLS is required),
// ftps://, sftp://, http://, https://.
func (p *Plan) URL(e Entry, host string) string {
	scheme := map[Service]string{FTP: "ftp", FTPImplicit: "ftps", SFTP: "sftp", HTTP: "http", HTTPS: "https"}[e.Service]
	if e.Service == FTP && e.TLS == "explicit" {
		scheme = "ftpes"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(e.Ports.Low)) + "/"
}
