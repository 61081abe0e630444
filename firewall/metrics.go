package firewall

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
)

// metricsGroup opens the metrics listener ([metrics] listen), which the
// plan otherwise leaves closed to the outside, to from only: an address
// or a CIDR prefix (Options.OpenMetrics, `ferry firewall --open-metrics`).
func metricsGroup(plan *listen.Plan, from, server string) (group, error) {
	e, ok := plan.Find(listen.Metrics, listen.Local)
	if !ok {
		return group{}, fmt.Errorf("--open-metrics: the configuration has no metrics listener: set [metrics] listen")
	}
	p, err := config.Prefixes([]string{from})
	if err != nil {
		return group{}, fmt.Errorf("--open-metrics: %w", err)
	}
	if p[0].Bits() == 0 {
		return group{}, fmt.Errorf("--open-metrics %s: that is every address; name the scraper's address or network", from)
	}
	src := p[0].String()
	if p[0].IsSingleIP() {
		src = p[0].Addr().String()
	}
	host, _, _ := net.SplitHostPort(plan.Addr(e))
	if a, err := netip.ParseAddr(host); host == "localhost" || err == nil && a.IsLoopback() {
		return group{}, fmt.Errorf("--open-metrics: metrics.listen binds %s, which no other host reaches: listen on an address %s can reach, e.g. \"0.0.0.0:%d\"", host, src, e.Ports.Low)
	}
	var anyPort config.PortRange
	purpose := "Prometheus metrics, from " + src + " only"
	return group{Service: "metrics",
		Server: []Rule{rule(In, e.Ports, src, anyPort, purpose)},
		Client: []Rule{rule(Out, anyPort, server, e.Ports, purpose)},
	}, nil
}
