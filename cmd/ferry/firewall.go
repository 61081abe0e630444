package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/ferry-project/ferry/cluster"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/firewall"
	"github.com/ferry-project/ferry/listen"
)

func init() {
	register("firewall", "print the firewall rules the configuration needs", runFirewall)
}

func runFirewall(args []string) error {
	fs := flag.NewFlagSet("ferry firewall", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration `FILE` (default: embedded defaults)")
	side := fs.String("side", "server", "whose firewall: server, client, or router (the NAT router's port forwards)")
	server := fs.String("server", "", "client side: the server's `ADDR` (default: public_host)")
	mode := fs.String("mode", "passive", "client side: FTP mode, passive or active")
	activePorts := fs.String("active-ports", "1024-65535", "client side, active mode: the `LOW-HIGH` ports the client listens on")
	forwardTo := fs.String("forward-to", "", "router side: the server's private `ADDR` (default: listen_address)")
	format := fs.String("format", "table", "output: "+strings.Join(firewall.Formats, ", ")+"; with --cluster: haproxy, node (and nft for --side router)")
	clusterPath := fs.String("cluster", "", "a cluster `FILE` (cluster.toml): print the balancer's HAProxy configuration, a router's nft forwards or the nodes' ferry.toml fragments")
	stateless := fs.Bool("stateless", false, "also print every reply flow, for filters without connection tracking")
	defaultDrop := fs.Bool("default-drop", false, "nft, iptables, ufw: a complete host ruleset that drops what it does not accept (default: only accept rules to include)")
	noSSH := fs.Bool("no-ssh", false, "with --default-drop: do not keep SSH (port 22 and the port of $SSH_CONNECTION) open")
	openMetrics := fs.String("open-metrics", "", "server side: open the metrics listener ([metrics] listen) to `FROM` only, an address or CIDR (default: closed to the outside)")
	var keep []int
	fs.Func("keep-port", "with --default-drop: also keep TCP port `N` open (repeatable)", func(s string) error {
		p, err := strconv.Atoi(s)
		keep = append(keep, p)
		return err
	})
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	if *clusterPath != "" {
		c, err := cluster.Load(*clusterPath)
		if err != nil {
			return err
		}
		return cluster.Render(os.Stdout, c, *side, *format)
	}
	cfg, err := config.Load(config.Resolve(*cfgPath))
	if err != nil {
		return err
	}
	ap, err := config.ParsePortRange(*activePorts)
	if err != nil {
		return fmt.Errorf("--active-ports: %w", err)
	}
	keeps, err := firewall.KeepPorts(os.Getenv("SSH_CONNECTION"), *noSSH, keep)
	if err != nil {
		return err
	}
	if !*defaultDrop && (*noSSH || len(keep) > 0) {
		return fmt.Errorf("--no-ssh and --keep-port shape a --default-drop ruleset; without it nothing is dropped")
	}
	o := firewall.Options{
		DefaultDrop: *defaultDrop,
		Keep:        keeps,
		Side:        firewall.Side(*side),
		Server:      *server,
		Mode:        firewall.Mode(*mode),
		ActivePorts: ap,
		Stateless:   *stateless,
		ForwardTo:   *forwardTo,
		OpenMetrics: *openMetrics,
	}
	plan := listen.New(cfg)
	if o.Side == firewall.Server && plan.Address == "" {
		o.LocalAddrs = localAddrs()
	}
	rs, err := firewall.Plan(plan, o)
	if err != nil {
		return err
	}
	return firewall.Render(os.Stdout, rs, *format)
}

// localAddrs lists this host's addresses, so the planner can warn when the
// server sits on a private network without public_host.
func localAddrs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips
}
