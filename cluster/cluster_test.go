package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
)

const sample = `
[balancer]
public_host = "203.0.113.10"
sources     = ["10.0.0.1", "10.0.9.0/24"]

[[node]]
name          = "a"
address       = "10.0.0.11"
passive_ports = "30000-30999"

[[node]]
name          = "b"
address       = "10.0.0.12"
passive_ports = "31000-31099"
`

func parse(t *testing.T, text string) *Cluster {
	t.Helper()
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func render(t *testing.T, c *Cluster, side, format string) string {
	t.Helper()
	var b strings.Builder
	if err := Render(&b, c, side, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestParseErrors: every broken cluster file is refused with the key at
// fault, wrapped in ErrInvalid.
func TestParseErrors(t *testing.T) {
	node := func(name, addr, ports string) string {
		return fmt.Sprintf("[[node]]\nname = %q\naddress = %q\npassive_ports = %q\n", name, addr, ports)
	}
	head := "[balancer]\npublic_host = \"ftp.example.net\"\nsources = [\"10.0.0.1\"]\n"
	for _, tc := range []struct{ text, want string }{
		{node("a", "10.0.0.11", "30000-30999"), "balancer.public_host"},
		{"[balancer]\npublic_host = \"x\"\n" + node("a", "10.0.0.11", "30000-30999"), "balancer.sources"},
		{"[balancer]\npublic_host = \"x\"\nsources = [\"nope\"]\n" + node("a", "10.0.0.11", "30000-30999"), "balancer.sources"},
		{head, "no [[node]]"},
		{head + node("a", "10.0.0.11", "30000-30999") + node("b", "10.0.0.12", "30500-31500"), "overlap"},
		{head + node("a", "10.0.0.11", "30000-30999") + node("a", "10.0.0.12", "31000-31999"), "used twice"},
		{head + node("A b", "10.0.0.11", "30000-30999"), "node[0].name"},
		{head + node("a", "ftp.example.net", "30000-30999"), "node[0].address"},
		{head + node("a", "10.0.0.11", "20-30"), "holds ports."},
		{head + node("a", "10.0.0.11", "x"), "node[0].passive_ports"},
		{head + "[ports]\nsftp = 21\n" + node("a", "10.0.0.11", "30000-30999"), "ports.sftp"},
		{head + "colour = 1\n" + node("a", "10.0.0.11", "30000-30999"), "unknown key"},
	} {
		_, err := Parse([]byte(tc.text))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want ErrInvalid naming %q; file:\n%s", err, tc.want, tc.text)
		}
	}
}

// TestHAProxy: HAProxy itself accepts the configuration, every server line
// sends PROXY v2 and is checked, the control services are balanced by
// source, and each node's passive range goes to that node only.
func TestHAProxy(t *testing.T) {
	testutil.Need(t, "haproxy")
	for _, text := range []string{sample, strings.Replace(sample, "[[node]]", "[ports]\nhttps = 0\nftp = 2121\n\n[[node]]", 1),
		strings.NewReplacer("10.0.0.11", "fd00::11", "10.0.0.12", "fd00::12").Replace(sample)} {
		out := render(t, parse(t, text), "server", "haproxy")
		path := filepath.Join(t.TempDir(), "haproxy.cfg")
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("haproxy", "-c", "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("haproxy -c rejects it: %v\n%s\n%s", err, b, out)
		}
		servers := regexp.MustCompile(`(?m)^\tserver .*$`).FindAllString(out, -1)
		if len(servers) == 0 {
			t.Fatal("no server line")
		}
		for _, s := range servers {
			if !strings.Contains(s, " send-proxy-v2 ") || !strings.Contains(s, " check") {
				t.Errorf("server line without send-proxy-v2 or check: %s", s)
			}
		}
		for _, want := range []string{"balance source", "frontend sftp", "frontend ftps-implicit"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q", want)
			}
		}
		for _, re := range []string{`(?s)frontend passive_a\n[^\n]*\n\tbind :30000-30999\n.*?backend passive_a\n(\t[^\n]*\n)*?\tserver a (\[fd00::11\]|10\.0\.0\.11) send-proxy-v2`,
			`(?s)frontend passive_b\n[^\n]*\n\tbind :31000-31099\n.*?backend passive_b\n(\t[^\n]*\n)*?\tserver b (\[fd00::12\]|10\.0\.0\.12) send-proxy-v2`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("no passive frontend matching %s in\n%s", re, out)
			}
		}
		if strings.Contains(text, "https = 0") == strings.Contains(out, "uri /healthz") {
			t.Errorf("the /healthz check does not follow ports.https:\n%s", out)
		}
		if n := strings.Count(out, "server b "); n != 5 && !strings.Contains(text, "https = 0") {
			t.Errorf("node b has %d server lines, want 4 services + its passive range", n)
		}
	}
}

// TestRouterNft: nft accepts the router's forwards (checked in a network
// namespace of the test's own), which hash control connections by client
// address and send each passive range to its node.
func TestRouterNft(t *testing.T) {
	testutil.Need(t, "nft", "ip")
	if os.Geteuid() != 0 {
		t.Skip("nft -c needs root")
	}
	out := render(t, parse(t, sample), "router", "nft")
	for _, want := range []string{"dnat to jhash ip saddr mod 2 map { 0 : 10.0.0.11, 1 : 10.0.0.12 }",
		"ip daddr 203.0.113.10 tcp dport 30000-30999 dnat to 10.0.0.11", "tcp dport 31000-31099 dnat to 10.0.0.12"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	ns := fmt.Sprintf("fpx-nft-%d", os.Getpid())
	if b, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, b)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-c", "-f", "-")
	cmd.Stdin = strings.NewReader(out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -c rejects the router's forwards: %v\n%s\n%s", err, b, out)
	}
	mixed := strings.Replace(sample, "10.0.0.12", "fd00::12", 1)
	if err := Render(new(strings.Builder), parse(t, mixed), "router", "nft"); err == nil {
		t.Error("nodes of both families were given one table")
	}
}

// TestNodeFragments: each node's fragment is a valid ferry.toml whose plan
// has the node's passive range, the balancer's address and the PROXY
// protocol from the balancer only (none with a plain router).
func TestNodeFragments(t *testing.T) {
	c := parse(t, sample)
	for _, side := range []string{"server", "router"} {
		out := render(t, c, side, "node")
		parts := regexp.MustCompile(`(?m)^# ---- node `).Split(out, -1)[1:]
		if len(parts) != len(c.Nodes) {
			t.Fatalf("%s: %d fragments for %d nodes", side, len(parts), len(c.Nodes))
		}
		for i, part := range parts {
			cfg, err := config.Parse([]byte("# " + part))
			if err != nil {
				t.Fatalf("%s: node %s's fragment: %v\n%s", side, c.Nodes[i].Name, err, part)
			}
			plan := listen.New(cfg)
			if got := plan.Passive(listen.FTP).Range(); got != c.Nodes[i].Passive() {
				t.Errorf("node %s: passive %s, want %s", c.Nodes[i].Name, got, c.Nodes[i].Passive())
			}
			if plan.PublicHost != "203.0.113.10" {
				t.Errorf("node %s: public_host %q", c.Nodes[i].Name, plan.PublicHost)
			}
			trusted := fmt.Sprint(plan.ProxyTrusted())
			if want := map[string]string{"server": "[10.0.0.1/32 10.0.9.0/24]", "router": "[]"}[side]; trusted != want {
				t.Errorf("%s: node %s trusts %s, want %s", side, c.Nodes[i].Name, trusted, want)
			}
			if side == "server" && !cfg.ProxyProtocol.Required {
				t.Errorf("node %s: the header is not required", c.Nodes[i].Name)
			}
			if _, ok := plan.Find(listen.HTTPS, listen.Control); !ok {
				t.Errorf("node %s: no HTTPS listener for the health check", c.Nodes[i].Name)
			}
		}
	}
}
