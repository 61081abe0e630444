package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/ferry-project/ferry/config"
)

// ErrInvalid wraps every error of a cluster file's contents.
var ErrInvalid = errors.New("invalid cluster file")

// Cluster is a parsed and checked cluster.toml.
type Cluster struct {
	Balancer Balancer `toml:"balancer"`
	Ports    Ports    `toml:"ports"`
	Nodes    []Node   `toml:"node"`
}

// Balancer is the load balancer in front of the nodes.
type Balancer struct {
	// PublicHost is the address or name clients reach; every node
	// advertises it in its passive replies.
	PublicHost string `toml:"public_host"`
	// Listen is the address the balancer's frontends bind ("" for all).
	Listen string `toml:"listen"`
	// Sources are the addresses the balancer connects to the nodes from:
	// the nodes trust PROXY headers from them only.
	Sources []string `toml:"sources"`
}

// Ports are the service ports, the same on the balancer and on every
// node; 0 turns a service off.
type Ports struct {
	FTP          int `toml:"ftp"`
	FTPSImplicit int `toml:"ftps_implicit"`
	SFTP         int `toml:"sftp"`
	HTTPS        int `toml:"https"`
}

// Node is one ferry server.
type Node struct {
	Name         string `toml:"name"`
	Address      string `toml:"address"`
	PassivePorts string `toml:"passive_ports"`

	addr    netip.Addr
	passive config.PortRange
}

// Passive is the node's passive range.
func (n Node) Passive() config.PortRange { return n.passive }

// Service is one balanced service of the cluster.
type Service struct {
	Name string // ftp, ftps-implicit, sftp, https
	Port int
}

// Services are the services that are on, in a fixed order.
func (c *Cluster) Services() []Service {
	var s []Service
	for _, v := range []Service{{"ftp", c.Ports.FTP}, {"ftps-implicit", c.Ports.FTPSImplicit},
		{"sftp", c.Ports.SFTP}, {"https", c.Ports.HTTPS}} {
		if v.Port != 0 {
			s = append(s, v)
		}
	}
	return s
}

// Load reads and checks a cluster file.
func Load(path string) (*Cluster, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads and checks the text of a cluster file. The ports default
// to 21, 990, 22 and 443.
func Parse(b []byte) (*Cluster, error) {
	c := &Cluster{Ports: Ports{FTP: 21, FTPSImplicit: 990, SFTP: 22, HTTPS: 443}}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return nil, fmt.Errorf("%w: unknown key %s", ErrInvalid, un[0])
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)

func (c *Cluster) check() error {
	b := &c.Balancer
	if b.PublicHost == "" {
		return errors.New("balancer.public_host: the address or name clients reach is required")
	}
	if strings.ContainsAny(b.PublicHost, " /[]\"'") {
		return fmt.Errorf("balancer.public_host: %q is neither an address nor a host name", b.PublicHost)
	}
	if _, err := netip.ParseAddr(b.PublicHost); err != nil && strings.Contains(b.PublicHost, ":") {
		return fmt.Errorf("balancer.public_host: %q is neither an address nor a host name", b.PublicHost)
	}
	if b.Listen != "" {
		if _, err := netip.ParseAddr(b.Listen); err != nil {
			return fmt.Errorf("balancer.listen: %q is not an IP address (\"\" binds every address)", b.Listen)
		}
	}
	if len(b.Sources) == 0 {
		return errors.New("balancer.sources: list the addresses the balancer connects to the nodes from (the nodes trust PROXY headers from them only)")
	}
	if _, err := config.Prefixes(b.Sources); err != nil {
		return fmt.Errorf("balancer.sources: %w", err)
	}
	seen := map[int]string{}
	for _, s := range []struct {
		key  string
		port int
	}{{"ports.ftp", c.Ports.FTP}, {"ports.ftps_implicit", c.Ports.FTPSImplicit}, {"ports.sftp", c.Ports.SFTP}, {"ports.https", c.Ports.HTTPS}} {
		if s.port == 0 {
			continue
		}
		if s.port < 1 || s.port > 65535 {
			return fmt.Errorf("%s: %d is out of range: use 1-65535, or 0 to turn it off", s.key, s.port)
		}
		if k, dup := seen[s.port]; dup {
			return fmt.Errorf("%s: port %d is already used by %s", s.key, s.port, k)
		}
		seen[s.port] = s.key
	}
	if len(seen) == 0 {
		return errors.New("ports: every service is off")
	}
	if len(c.Nodes) == 0 {
		return errors.New("no [[node]]: list at least one node")
	}
	names := map[string]bool{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		key := fmt.Sprintf("node[%d]", i)
		if !nameRE.MatchString(n.Name) {
			return fmt.Errorf("%s.name: %q: use 1-31 lower-case letters, digits, - and _", key, n.Name)
		}
		if names[n.Name] {
			return fmt.Errorf("%s.name: %q is used twice", key, n.Name)
		}
		names[n.Name] = true
		a, err := netip.ParseAddr(n.Address)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%s.address: %q is not an IP address", key, n.Address)
		}
		n.addr = a.Unmap()
		if c.Ports.FTP != 0 || c.Ports.FTPSImplicit != 0 {
			r, err := config.ParsePortRange(n.PassivePorts)
			if err != nil {
				return fmt.Errorf("%s.passive_ports: %w", key, err)
			}
			for p, k := range seen {
				if r.Contains(p) {
					return fmt.Errorf("%s.passive_ports: %s holds %s (%d)", key, r, k, p)
				}
			}
			n.passive = r
		}
	}
	// Disjoint ranges: a data connection's port alone names its node.
	byLow := append([]Node(nil), c.Nodes...)
	sort.Slice(byLow, func(i, j int) bool { return byLow[i].passive.Low < byLow[j].passive.Low })
	for i := 1; i < len(byLow); i++ {
		if p, n := byLow[i-1], byLow[i]; n.passive.Low != 0 && n.passive.Low <= p.passive.High {
			return fmt.Errorf("node %s: passive_ports %s overlap node %s's %s: each node needs a range of its own", n.Name, n.passive, p.Name, p.passive)
		}
	}
	return nil
}
