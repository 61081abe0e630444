package firewall

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
)

// Side is whose firewall the rules are for.
type Side string

// The sides the planner knows.
const (
	Server Side = "server"
	Client Side = "client"
	// Router is the NAT router in front of the server: its port forwards.
	Router Side = "router"
)

// Mode is the FTP data connection mode a client uses.
type Mode string

// FTP data connection modes.
const (
	Passive Mode = "passive"
	Active  Mode = "active"
)

// Options select what the planner prints.
type Options struct {
	Side Side
	// Server is the server's address as clients reach it (client side);
	// "" means the plan's public_host.
	Server string
	// Mode is the client's FTP mode (client side); "" means passive.
	Mode Mode
	// ActivePorts is the range a client listens on in active mode; the zero
	// value means every unprivileged port.
	ActivePorts config.PortRange
	// Stateless adds the reverse flow of every rule, for filters without
	// connection tracking.
	Stateless bool
	// ForwardTo is the server's private address behind the NAT router
	// (router side); "" means the plan's listen_address.
	ForwardTo string
	// LocalAddrs are the server's own addresses, used when listen_address is
	// empty to tell whether the server sits on a private network.
	LocalAddrs []net.IP
	// DefaultDrop makes the nft, iptables and ufw outputs complete host
	// rulesets that drop what they do not accept, keeping Keep open. Without
	// it they only add accept rules and leave the host's policy alone.
	DefaultDrop bool
	Keep        []Keep
	// OpenMetrics, an address or CIDR prefix, opens the metrics listener
	// to it alone; "" leaves the metrics closed to the outside.
	OpenMetrics string
}

// unprivileged is the client's default active-mode listening range.
var unprivileged = config.PortRange{Low: 1024, High: 65535}

// Direction of a rule, seen from the host whose firewall it is for.
const (
	In  = "in"
	Out = "out"
)

// Any stands for every address or every port.
const Any = "any"

// Rule is one allowed flow. LocalPorts and RemotePorts are a port, a range
// such as "28000-30000", or "any"; Remote is an address or "any".
type Rule struct {
	Direction   string `json:"direction"`
	Protocol    string `json:"protocol"`
	LocalPorts  string `json:"local_ports"`
	Remote      string `json:"remote"`
	RemotePorts string `json:"remote_ports"`
	Purpose     string `json:"purpose"`

	local, remotePorts config.PortRange // Low == 0: any
	reply              bool             // the reverse flow of a stateless rule
}

// Forward is a port forward (DNAT) the NAT router in front of the server
// needs.
type Forward struct {
	Protocol string `json:"protocol"`
	Ports    string `json:"ports"`
	Purpose  string `json:"purpose"`

	ports config.PortRange
}

// group is the rules of one service and mode on both sides, as in the
// source article's table.
type group struct {
	Service string
	Mode    Mode // "" for services without modes
	Server  []Rule
	Client  []Rule
}

// Ruleset is the planner's result for one side.
type Ruleset struct {
	Side     Side      `json:"side"`
	Stateful bool      `json:"stateful"`
	Rules    []Rule    `json:"rules"`
	Forwards []Forward `json:"forwards,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`

	groups      []group
	publicHost  string
	forwardTo   string
	defaultDrop bool
	keep        []Keep
}

// Plan computes the rules of one side for the listener plan that `ferry
// serve` opens.
func Plan(plan *listen.Plan, o Options) (*Ruleset, error) {
	if o.Side == "" {
		o.Side = Server
	}
	if o.Mode == "" {
		o.Mode = Passive
	}
	if o.Mode != Passive && o.Mode != Active {
		return nil, fmt.Errorf("mode %q: use passive or active", o.Mode)
	}
	if o.ActivePorts.Low == 0 {
		o.ActivePorts = unprivileged
	}
	rs := &Ruleset{Side: o.Side, Stateful: !o.Stateless, publicHost: plan.PublicHost, defaultDrop: o.DefaultDrop, keep: o.Keep}

	server := "SERVER"
	switch o.Side {
	case Server:
		if plan.PublicHost != "" {
			server = plan.PublicHost
		}
	case Client:
		server = o.Server
		if server == "" {
			server = plan.PublicHost
		}
		if server == "" {
			return nil, errors.New("the client side needs the server's address: give --server ADDR or set public_host")
		}
		if strings.ContainsAny(server, " \t\"'") {
			return nil, fmt.Errorf("server %q is not an address", server)
		}
		if _, ftp := plan.Find(listen.FTP, listen.Control); o.Mode == Active && ftp {
			if _, ok := plan.Find(listen.FTP, listen.Active); !ok {
				return nil, errors.New("active mode: the server does not allow it (ftp.active = false); use passive mode")
			}
		}
	case Router:
		return planRouter(plan, o)
	default:
		return nil, fmt.Errorf("side %q: use server, client or router", o.Side)
	}

	rs.groups = groups(plan, server, o.ActivePorts)
	if o.OpenMetrics != "" {
		g, err := metricsGroup(plan, o.OpenMetrics, server)
		if err != nil {
			return nil, err
		}
		rs.groups = append(rs.groups, g)
	}
	var rules []Rule
	for _, g := range rs.groups {
		if o.Side == Server {
			rules = append(rules, g.Server...)
		} else if g.Mode == "" || g.Mode == o.Mode {
			rules = append(rules, g.Client...)
		}
	}
	rs.Rules = dedup(rules)
	if o.Side == Client {
		kept := rs.groups[:0]
		for _, g := range rs.groups {
			if g.Mode == "" || g.Mode == o.Mode {
				kept = append(kept, g)
			}
		}
		rs.groups = kept
	}
	if o.Side == Server && plan.PublicHost != "" {
		rs.Forwards = forwards(rs.Rules)
	}
	if o.Stateless {
		rs.Rules = withReverse(rs.Rules)
		for i := range rs.groups {
			rs.groups[i].Server = withReverse(rs.groups[i].Server)
			rs.groups[i].Client = withReverse(rs.groups[i].Client)
		}
	}
	rs.Warnings = warnings(plan, o)
	return rs, nil
}

func portsOf(r config.PortRange) string {
	if r.Low == 0 {
		return Any
	}
	return r.String()
}

func rule(dir string, local config.PortRange, remote string, remotePorts config.PortRange, purpose string) Rule {
	return Rule{
		Direction: dir, Protocol: "tcp",
		LocalPorts: portsOf(local), Remote: remote, RemotePorts: portsOf(remotePorts),
		Purpose: purpose, local: local, remotePorts: remotePorts,
	}
}

// label names a control entry the way administrators say it.
func label(e listen.Entry) string {
	switch e.Service {
	case listen.FTP:
		switch e.TLS {
		case "explicit":
			return "explicit FTPS"
		case "optional":
			return "FTP / explicit FTPS"
		}
		return "FTP"
	case listen.FTPImplicit:
		return "implicit FTPS"
	case listen.SFTP:
		return "SFTP"
	case listen.HTTP:
		return "HTTP"
	case listen.HTTPS:
		return "HTTPS"
	}
	return string(e.Service)
}

func groups(plan *listen.Plan, server string, clientRange config.PortRange) []group {
	var anyPort config.PortRange
	var gs []group
	for _, e := range plan.Entries {
		if e.Kind != listen.Control {
			continue
		}
		name := label(e)
		srvCtl := rule(In, e.Ports, Any, anyPort, e.Purpose)
		cliCtl := rule(Out, anyPort, server, e.Ports, e.Purpose)
		if e.Service != listen.FTP && e.Service != listen.FTPImplicit {
			gs = append(gs, group{Service: name, Server: []Rule{srvCtl}, Client: []Rule{cliCtl}})
			continue
		}
		if p, ok := plan.Find(e.Service, listen.Passive); ok {
			gs = append(gs, group{Service: name, Mode: Passive,
				Server: []Rule{srvCtl, rule(In, p.Ports, Any, anyPort, p.Purpose)},
				Client: []Rule{cliCtl, rule(Out, anyPort, server, p.Ports, p.Purpose)},
			})
		}
		if a, ok := plan.Find(e.Service, listen.Active); ok {
			gs = append(gs, group{Service: name, Mode: Active,
				Server: []Rule{srvCtl, rule(Out, a.Ports, Any, anyPort, a.Purpose)},
				Client: []Rule{cliCtl, rule(In, clientRange, server, a.Ports, name+" active data (the server connects in)")},
			})
		}
	}
	return gs
}

// dedup merges rules that allow the same flow, joining their purposes.
func dedup(rules []Rule) []Rule {
	var out []Rule
	for _, r := range rules {
		merged := false
		for i := range out {
			o := &out[i]
			if o.Direction == r.Direction && o.LocalPorts == r.LocalPorts && o.Remote == r.Remote && o.RemotePorts == r.RemotePorts {
				if !strings.Contains(o.Purpose, r.Purpose) {
					o.Purpose += "; " + r.Purpose
				}
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, r)
		}
	}
	return out
}

// withReverse follows every rule with its reply flow.
func withReverse(rules []Rule) []Rule {
	out := make([]Rule, 0, 2*len(rules))
	for _, r := range rules {
		rev := r
		rev.Direction = In
		if r.Direction == In {
			rev.Direction = Out
		}
		rev.Purpose = "replies: " + r.Purpose
		rev.reply = true
		out = append(out, r, rev)
	}
	return out
}

// forwards lists what the NAT router must forward: every inbound port.
func forwards(rules []Rule) []Forward {
	var fs []Forward
	for _, r := range rules {
		if r.Direction != In || r.local.Low == 0 {
			continue
		}
		fs = append(fs, Forward{Protocol: r.Protocol, Ports: r.LocalPorts, Purpose: r.Purpose, ports: r.local})
	}
	return fs
}

func planRouter(plan *listen.Plan, o Options) (*Ruleset, error) {
	if plan.PublicHost == "" {
		return nil, errors.New("the router side forwards public_host to the server: set public_host in the config")
	}
	to := o.ForwardTo
	if to == "" {
		to = plan.Address
	}
	if to == "" {
		return nil, errors.New("the router side needs the server's private address: give --forward-to ADDR or set listen_address")
	}
	ip := net.ParseIP(to)
	if ip == nil {
		return nil, fmt.Errorf("--forward-to %q is not an IP address", to)
	}
	if pub := net.ParseIP(plan.PublicHost); pub != nil && (pub.To4() == nil) != (ip.To4() == nil) {
		return nil, fmt.Errorf("public_host %s and the server's address %s are of different IP families", plan.PublicHost, to)
	}
	rs := &Ruleset{Side: Router, Stateful: true, publicHost: plan.PublicHost, forwardTo: to}
	var rules []Rule
	for _, g := range groups(plan, Any, unprivileged) {
		rules = append(rules, g.Server...)
	}
	rs.Forwards = forwards(dedup(rules))
	rs.Rules = []Rule{}
	rs.Warnings = warnings(plan, o)
	return rs, nil
}

func warnings(plan *listen.Plan, o Options) []string {
	var ws []string
	passive, ok := plan.Find(listen.FTP, listen.Passive)
	if !ok {
		return nil // no FTP
	}
	ftps := false
	for _, e := range plan.Entries {
		if (e.Service == listen.FTP || e.Service == listen.FTPImplicit) && e.TLS != "" {
			ftps = true
		}
	}
	if ftps {
		ws = append(ws, "FTP helpers (the conntrack ftp helper, a router's \"FTP ALG\") read the cleartext control channel to open data ports; they cannot read FTPS, and some break explicit FTPS at AUTH TLS. Forward the passive range explicitly and set public_host instead of relying on them.")
	}
	pr := passive.Ports
	if o.Side != Client {
		switch n := plan.MaxConnectionsPerIP; {
		case plan.PassiveSharing && pr.Size() < n:
			// Sessions from different addresses share the ports; the
			// sessions of one address need a port each.
			ws = append(ws, fmt.Sprintf("the passive range %s has %d ports, but one client address may hold %d sessions (limits.max_connections_per_ip): sessions from different addresses share the passive ports (ftp.passive_sharing), but those of one address need a port each while they wait for a data connection, so more than %d of one address waiting at once get 425. Widen ftp.passive_ports or lower limits.max_connections_per_ip.",
				pr, pr.Size(), n, pr.Size()))
		case !plan.PassiveSharing && pr.Size() < plan.MaxConnections:
			ws = append(ws, fmt.Sprintf("the passive range %s has %d ports, but the limits allow %d concurrent sessions (limits.max_connections; %d per client IP) and ftp.passive_sharing is off: a passive port is held from PASV or EPSV until its data connection arrives, and more than %d sessions waiting for one at once get 425. Widen ftp.passive_ports or turn ftp.passive_sharing on.",
				pr, pr.Size(), plan.MaxConnections, n, pr.Size()))
		}
	}
	_, active := plan.Find(listen.FTP, listen.Active)
	switch {
	case o.Side == Server && active:
		ws = append(ws, "ftp.active = true: clients that use active mode must accept inbound data connections from this server, so their firewalls need inbound rules (see --side client --mode active). Passive mode needs none; set ftp.active = false if no client needs active mode.")
	case o.Side == Client && o.Mode == Active && active:
		ws = append(ws, "active mode: this client must accept inbound connections from the server; behind NAT it must also announce its public address (ferry --active-address) and the router must forward the client's listening ports. Prefer passive mode.")
	}
	if o.Side != Client && plan.PublicHost == "" {
		addrs := o.LocalAddrs
		if plan.Address != "" {
			addrs = []net.IP{net.ParseIP(plan.Address)}
		}
		var private []string
		public := false
		for _, a := range addrs {
			switch {
			case a == nil || a.IsLoopback() || a.IsLinkLocalUnicast() || !a.IsGlobalUnicast():
			case a.IsPrivate():
				private = append(private, a.String())
			default:
				public = true
			}
		}
		if len(private) > 0 && !public {
			ws = append(ws, fmt.Sprintf("public_host is empty and the server's address (%s) is private (RFC 1918 / ULA): behind NAT, passive replies will carry the private address and clients outside cannot open data connections. Set public_host to the address clients reach.",
				strings.Join(private, ", ")))
		}
	}
	return ws
}
