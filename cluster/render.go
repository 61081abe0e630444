package cluster

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Render writes what one side of the cluster needs. Side "server" (the
// default) is a cluster behind HAProxy: format "haproxy" is the balancer's
// configuration, "node" the nodes' ferry.toml fragments. Side "router" is
// a plain NAT router instead of the balancer: "nft" (or "table") its port
// forwards, "node" the nodes' fragments without the PROXY protocol.
func Render(w io.Writer, c *Cluster, side, format string) error {
	var b strings.Builder
	switch {
	case side == "server" && format == "haproxy":
		c.haproxy(&b)
	case side == "server" && format == "node":
		c.nodes(&b, true)
	case side == "router" && (format == "nft" || format == "table"):
		if err := c.routerNft(&b); err != nil {
			return err
		}
	case side == "router" && format == "node":
		c.nodes(&b, false)
	case side == "server":
		return fmt.Errorf("--cluster prints --format haproxy or node, not %q", format)
	case side == "router":
		return fmt.Errorf("--cluster --side router prints --format nft or node, not %q", format)
	default:
		return fmt.Errorf("--cluster is for --side server (the balancer) or router, not %q", side)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *Cluster) bind(port string) string {
	if c.Balancer.Listen == "" {
		return ":" + port
	}
	return net.JoinHostPort(c.Balancer.Listen, port)
}

// check is the health check of a server line: the node's /healthz over
// HTTPS (ready only when its store and storage answer), with a PROXY
// header as every connection to a node needs; without HTTPS, a TCP connect
// to the first control port.
func (c *Cluster) checkLine() string {
	if c.Ports.HTTPS == 0 {
		return "check port " + strconv.Itoa(c.Services()[0].Port) // a TCP connect to a control port
	}
	return "check port " + strconv.Itoa(c.Ports.HTTPS) + " check-ssl verify none check-send-proxy"
}

func (c *Cluster) httpCheck(b *strings.Builder) {
	if c.Ports.HTTPS == 0 {
		return
	}
	b.WriteString("\toption httpchk\n\thttp-check send meth GET uri /healthz\n\thttp-check expect status 200\n")
}

func (c *Cluster) haproxy(b *strings.Builder) {
	fmt.Fprintf(b, "# ferry cluster: HAProxy configuration (ferry firewall --cluster FILE --format haproxy).\n")
	fmt.Fprintf(b, "# Clients reach %s. Every connection reaches a node with a PROXY v2 header naming\n", c.Balancer.PublicHost)
	b.WriteString("# the client, and each node's FTP passive range is forwarded to that node only.\n\n")
	b.WriteString("global\n\tlog stdout format raw local0\n\t# two descriptors a connection: raise with the open-file limit\n\tmaxconn 8000\n\n")
	b.WriteString("defaults\n\tmode tcp\n\tlog global\n\toption tcplog\n\toption dontlognull\n")
	b.WriteString("\toption clitcpka\n\toption srvtcpka\n\toption log-health-checks\n\ttimeout connect 5s\n\ttimeout check 5s\n")
	b.WriteString("\t# An FTP control connection is silent while its transfer runs: ferry's own\n")
	b.WriteString("\t# limits.idle_timeout ends idle sessions.\n\ttimeout client 24h\n\ttimeout server 24h\n")
	for _, s := range c.Services() {
		fmt.Fprintf(b, "\nfrontend %s\n\tbind %s\n\tdefault_backend %[1]s\n", s.Name, c.bind(strconv.Itoa(s.Port)))
		fmt.Fprintf(b, "\nbackend %s\n\t# the same client address always reaches the same node\n\tbalance source\n\thash-type consistent\n", s.Name)
		c.httpCheck(b)
		for _, n := range c.Nodes {
			fmt.Fprintf(b, "\tserver %s %s send-proxy-v2 %s\n", n.Name, net.JoinHostPort(n.addr.String(), strconv.Itoa(s.Port)), c.checkLine())
		}
	}
	if c.Ports.FTP == 0 && c.Ports.FTPSImplicit == 0 {
		return
	}
	for _, n := range c.Nodes {
		r := n.passive
		fmt.Fprintf(b, "\nfrontend passive_%s\n\t# node %s's FTP passive range, to node %[2]s only\n", n.Name, n.Name)
		fmt.Fprintf(b, "\tbind %s\n\tdefault_backend passive_%s\n", c.bind(fmt.Sprintf("%d-%d", r.Low, r.High)), n.Name)
		fmt.Fprintf(b, "\nbackend passive_%s\n", n.Name)
		c.httpCheck(b)
		// No port: the node's port is the one the client connected to.
		fmt.Fprintf(b, "\tserver %s %s send-proxy-v2 %s\n", n.Name, hostOnly(n.addr), c.checkLine())
	}
}

// hostOnly is an address for a server line without a port: HAProxy would
// read the last field of a bare IPv6 address as the port.
func hostOnly(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

func (c *Cluster) family() (string, error) {
	fam := ""
	for _, n := range c.Nodes {
		f := "ip"
		if n.addr.Is6() {
			f = "ip6"
		}
		if fam != "" && f != fam {
			return "", fmt.Errorf("the nodes mix IPv4 and IPv6 addresses: a router forwards one family per table")
		}
		fam = f
	}
	return fam, nil
}

// routerNft is a plain NAT router's forwards in place of the balancer:
// the control ports spread over the nodes by a hash of the client's
// address (so a client stays on one node), each passive range to its
// node. The nodes see the client's address without any PROXY header.
func (c *Cluster) routerNft(b *strings.Builder) error {
	fam, err := c.family()
	if err != nil {
		return err
	}
	b.WriteString("#!/usr/sbin/nft -f\n")
	fmt.Fprintf(b, "# ferry cluster: a NAT router in front of %d nodes instead of a balancer (ferry firewall --cluster FILE --side router).\n", len(c.Nodes))
	b.WriteString("# The nodes must route their replies back through this router (their default gateway),\n")
	b.WriteString("# and take the nodes' fragments of `--side router --format node` (no PROXY header).\n")
	b.WriteString("# A plain router does no health checks: a node that is down keeps its share of clients.\n")
	match := ""
	if a, err := netip.ParseAddr(c.Balancer.PublicHost); err == nil {
		match = fam + " daddr " + a.String() + " "
	}
	fmt.Fprintf(b, "\ntable %[1]s ferry_cluster\ndelete table %[1]s ferry_cluster\n\ntable %[1]s ferry_cluster {\n", fam)
	b.WriteString("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	var ports, targets []string
	for _, s := range c.Services() {
		ports = append(ports, strconv.Itoa(s.Port))
	}
	for i, n := range c.Nodes {
		targets = append(targets, fmt.Sprintf("%d : %s", i, n.addr))
	}
	fmt.Fprintf(b, "\t\t%stcp dport { %s } dnat to jhash %s saddr mod %d map { %s } comment \"control connections, by client address\"\n",
		match, strings.Join(ports, ", "), fam, len(c.Nodes), strings.Join(targets, ", "))
	if c.Ports.FTP != 0 || c.Ports.FTPSImplicit != 0 {
		for _, n := range c.Nodes {
			fmt.Fprintf(b, "\t\t%stcp dport %s dnat to %s comment \"node %s: FTP passive data\"\n", match, n.passive, n.addr, n.Name)
		}
	}
	b.WriteString("\t}\n}\n")
	return nil
}

// nodes writes each node's ferry.toml fragment: its passive range, the
// balancer's address to advertise, the service ports, and (behind the
// balancer) the PROXY protocol from the balancer only.
func (c *Cluster) nodes(b *strings.Builder, proxy bool) {
	q := strconv.Quote
	for i, n := range c.Nodes {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "# ---- node %s (%s): merge into its ferry.toml ----\n", n.Name, n.addr)
		fmt.Fprintf(b, "public_host = %s   # passive replies send clients to the balancer\n\n", q(c.Balancer.PublicHost))
		ftp := c.Ports.FTP != 0 || c.Ports.FTPSImplicit != 0
		fmt.Fprintf(b, "[ftp]\nenabled       = %t\n", ftp)
		if ftp {
			port := c.Ports.FTP
			if port == 0 {
				port = 21 // unused: FTP's port is not forwarded; implicit FTPS is
			}
			fmt.Fprintf(b, "port          = %d\nimplicit_port = %d\n", port, c.Ports.FTPSImplicit)
			fmt.Fprintf(b, "passive_ports = %s   # this node's own range: the balancer forwards it here only\n", q(n.passive.String()))
		}
		fmt.Fprintf(b, "\n[sftp]\nenabled = %t\n", c.Ports.SFTP != 0)
		if c.Ports.SFTP != 0 {
			fmt.Fprintf(b, "port    = %d\n", c.Ports.SFTP)
		}
		fmt.Fprintf(b, "\n[http]\nenabled    = %t\n", c.Ports.HTTPS != 0)
		if c.Ports.HTTPS != 0 {
			fmt.Fprintf(b, "port       = 0\nhttps_port = %d   # GET /healthz answers the balancer's checks\n", c.Ports.HTTPS)
		}
		if proxy {
			srcs := make([]string, len(c.Balancer.Sources))
			for i, s := range c.Balancer.Sources {
				srcs[i] = q(s)
			}
			fmt.Fprintf(b, "\n[proxy_protocol]\ntrusted  = [%s]   # the balancer\nrequired = true\n", strings.Join(srcs, ", "))
		}
	}
}
