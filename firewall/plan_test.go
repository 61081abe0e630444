package firewall

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// load is the listener plan of a configuration file's text.
func load(t *testing.T, toml string) *listen.Plan {
	t.Helper()
	c, err := config.Parse([]byte(toml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return listen.New(c)
}

func custom(t *testing.T) *listen.Plan {
	t.Helper()
	b, err := os.ReadFile("testdata/custom.toml")
	if err != nil {
		t.Fatal(err)
	}
	return load(t, string(b))
}

func render(t *testing.T, rs *Ruleset, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, rs, format); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return b.String()
}

// goldenCases are every format, on both sides, for the non-default config.
var goldenCases = []struct {
	name    string
	opts    Options
	formats []string
}{
	{"server", Options{Side: Server}, Formats},
	{"server_stateless", Options{Side: Server, Stateless: true}, []string{"json", "nft", "iptables", "ufw"}},
	{"server_default_drop", Options{Side: Server, DefaultDrop: true, Keep: []Keep{{2200, "the SSH session that ran ferry firewall ($SSH_CONNECTION)"}, {22, "SSH"}, {5666, "--keep-port"}}}, []string{"nft", "iptables", "ufw"}},
	{"client_passive", Options{Side: Client, Server: "198.51.100.4"}, Formats},
	{"client_active", Options{Side: Client, Server: "198.51.100.4", Mode: Active, ActivePorts: config.PortRange{Low: 50000, High: 50099}}, Formats},
	{"client_active_v6", Options{Side: Client, Server: "2001:db8::5", Mode: Active}, []string{"nft", "iptables", "windows"}},
	{"router", Options{Side: Router, ForwardTo: "10.0.2.2"}, []string{"table", "json", "nft"}},
}

func ext(format string) string {
	switch format {
	case "table":
		return "txt"
	case "iptables":
		return "rules"
	case "ufw", "firewalld":
		return format + ".sh"
	case "windows":
		return "ps1"
	}
	return format
}

func TestGolden(t *testing.T) {
	c := custom(t)
	for _, tc := range goldenCases {
		rs, err := Plan(c, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, f := range tc.formats {
			got := render(t, rs, f)
			path := filepath.Join("testdata", tc.name+"."+ext(f))
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, got)
			}
		}
	}
}

func TestDefaultServerRules(t *testing.T) {
	rs, err := Plan(load(t, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// DESIGN §3, server side, with the default ports.
	want := []string{
		"in  tcp dport 21 from any",
		"in  tcp dport 28000-30000 from any",
		"out tcp sport 20 to any",
		"in  tcp dport 990 from any",
		"out tcp sport 989 to any",
		"in  tcp dport 22 from any",
		"in  tcp dport 80 from any",
		"in  tcp dport 443 from any",
	}
	var got []string
	for _, r := range rs.Rules {
		got = append(got, describe(r))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("server rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlanFollowsConfig(t *testing.T) {
	tests := []struct {
		name         string
		toml         string
		opts         Options
		want, absent []string
	}{
		{"ftp off", "[ftp]\nenabled = false", Options{},
			[]string{"dport 22 ", "dport 443 "}, []string{"dport 21 ", "28000", "sport 20 ", "990", "989"}},
		{"sftp and http off", "[sftp]\nenabled = false\n[http]\nenabled = false", Options{},
			[]string{"dport 21 ", "dport 990 "}, []string{"dport 22 ", "dport 80 ", "dport 443 "}},
		{"implicit off", "[ftp]\nimplicit_port = 0", Options{},
			[]string{"dport 21 ", "sport 20 "}, []string{"990", "989"}},
		{"active off", "[ftp]\nactive = false", Options{},
			[]string{"dport 21 ", "dport 28000-30000 "}, []string{"out tcp sport"}},
		{"moved ports", "[ftp]\nport = 2100\npassive_ports = \"50000-50100\"\n[sftp]\nport = 2200", Options{},
			[]string{"dport 2100 ", "dport 50000-50100 ", "sport 2099 ", "dport 2200 "}, []string{"dport 21 ", "28000", "dport 22 "}},
		{"fixed active source", "[ftp]\nactive_source_port = 3000", Options{},
			[]string{"sport 3000 "}, []string{"sport 20 ", "sport 989 "}},
		{"any active source", "[ftp]\nactive_source_port = 0", Options{},
			[]string{"out tcp to any"}, []string{"sport 20 "}},
		{"client passive", "", Options{Side: Client, Server: "192.0.2.1"},
			[]string{"out tcp to 192.0.2.1 dport 21", "out tcp to 192.0.2.1 dport 28000-30000", "out tcp to 192.0.2.1 dport 990"}, []string{"in  tcp"}},
		{"client active", "", Options{Side: Client, Server: "192.0.2.1", Mode: Active},
			[]string{"in  tcp dport 1024-65535 from 192.0.2.1 sport 20", "in  tcp dport 1024-65535 from 192.0.2.1 sport 989"}, []string{"28000"}},
		{"client server from public_host", "public_host = \"192.0.2.9\"", Options{Side: Client},
			[]string{"out tcp to 192.0.2.9 dport 21"}, nil},
		{"stateless", "[ftp]\nenabled = false\n[http]\nenabled = false", Options{Stateless: true},
			[]string{"in  tcp dport 22 from any", "out tcp sport 22 to any"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Plan(load(t, tc.toml), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range rs.Rules {
				lines = append(lines, describe(r)+" ")
			}
			all := strings.Join(lines, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in\n%s", w, all)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(all, a) {
					t.Errorf("unexpected %q in\n%s", a, all)
				}
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		opts       Options
		want       string
	}{
		{"client without server", "", Options{Side: Client}, "--server"},
		{"client active refused", "[ftp]\nactive = false", Options{Side: Client, Server: "192.0.2.1", Mode: Active}, "ftp.active = false"},
		{"bad mode", "", Options{Side: Client, Server: "192.0.2.1", Mode: "sideways"}, "passive or active"},
		{"bad side", "", Options{Side: "middle"}, "server, client or router"},
		{"router without public_host", "", Options{Side: Router, ForwardTo: "10.0.0.2"}, "public_host"},
		{"router without address", "public_host = \"192.0.2.1\"", Options{Side: Router}, "--forward-to"},
		{"router mixed families", "public_host = \"192.0.2.1\"", Options{Side: Router, ForwardTo: "fd00::2"}, "families"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(load(t, tc.toml), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestRenderRefusesHostNames(t *testing.T) {
	rs, err := Plan(load(t, ""), Options{Side: Client, Server: "ftp.example.net"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nft", "iptables", "ufw", "firewalld", "windows"} {
		if err := Render(&bytes.Buffer{}, rs, f); err == nil || !strings.Contains(err.Error(), "IP address") {
			t.Errorf("%s: error %v, want one asking for an IP address", f, err)
		}
	}
	// The readable formats may name the host.
	if out := render(t, rs, "json"); !strings.Contains(out, `"remote": "ftp.example.net"`) {
		t.Errorf("json lacks the host name:\n%s", out)
	}
	if err := Render(&bytes.Buffer{}, rs, "pf"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestWarnings(t *testing.T) {
	priv := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("192.168.1.10")}
	pub := []net.IP{net.ParseIP("192.168.1.10"), net.ParseIP("198.51.100.20")}
	tests := []struct {
		name, toml string
		opts       Options
		want       []string // substrings, one per expected warning, in order
	}{
		{"plain ftp, passive only, public address", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false", Options{LocalAddrs: pub}, nil},
		{"ftps", "[ftp]\nactive = false", Options{LocalAddrs: pub}, []string{"FTP helpers"}},
		{"defaults", "", Options{LocalAddrs: pub}, []string{"FTP helpers", "ftp.active = true"}},
		{"small passive range", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false\npassive_ports = \"30000-30009\"", Options{}, []string{"has 10 ports, but one client address may hold 20 sessions"}},
		{"small shared range, few per address", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false\npassive_ports = \"30000-30009\"\n[limits]\nmax_connections_per_ip = 10", Options{}, nil},
		{"small range, no sharing", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false\npassive_ports = \"30000-30009\"\npassive_sharing = false", Options{}, []string{"limits allow 1000 concurrent sessions (limits.max_connections; 20 per client IP) and ftp.passive_sharing is off"}},
		{"range as large as the limit", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false\npassive_ports = \"30000-30099\"\n[limits]\nmax_connections = 100", Options{}, nil},
		{"private without public_host", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false", Options{LocalAddrs: priv}, []string{"192.168.1.10) is private"}},
		{"private listen_address", "listen_address = \"10.1.2.3\"\n[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false", Options{LocalAddrs: pub}, []string{"10.1.2.3) is private"}},
		{"private with public_host", "public_host = \"198.51.100.1\"\n[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false", Options{LocalAddrs: priv}, nil},
		{"ula", "[ftp]\ntls = \"off\"\nimplicit_port = 0\nactive = false", Options{LocalAddrs: []net.IP{net.ParseIP("fd12::1")}}, []string{"fd12::1) is private"}},
		{"no ftp", "[ftp]\nenabled = false", Options{LocalAddrs: priv}, nil},
		{"client passive", "[ftp]\ntls = \"off\"\nimplicit_port = 0", Options{Side: Client, Server: "192.0.2.1"}, nil},
		{"client active", "[ftp]\ntls = \"off\"\nimplicit_port = 0", Options{Side: Client, Server: "192.0.2.1", Mode: Active}, []string{"must accept inbound connections"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := Plan(load(t, tc.toml), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.Warnings) != len(tc.want) {
				t.Fatalf("warnings %q, want %d matching %q", rs.Warnings, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(rs.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, rs.Warnings[i], w)
				}
			}
		})
	}
}

// validationCases cover every rule shape the renderers emit.
func validationCases(t *testing.T) []*Ruleset {
	t.Helper()
	configs := []string{"", "[ftp]\nactive_source_port = 0", "[ftp]\nactive = false\nimplicit_port = 0\n[http]\nhttps_port = 0"}
	opts := []Options{
		{Side: Server}, {Side: Server, Stateless: true},
		{Side: Client, Server: "192.0.2.1"}, {Side: Client, Server: "192.0.2.0/24", Stateless: true},
		{Side: Client, Server: "2001:db8::1", Mode: Active}, {Side: Client, Server: "198.51.100.4", Mode: Active, Stateless: true},
	}
	var out []*Ruleset
	for _, c := range configs {
		for _, o := range append(opts, Options{Side: Server, DefaultDrop: true, Keep: []Keep{{2200, "SSH"}}}, Options{Side: Server, DefaultDrop: true}) {
			rs, err := Plan(load(t, c), o)
			if err != nil {
				if o.Mode == Active && strings.Contains(c, "active = false") {
					continue
				}
				t.Fatal(err)
			}
			out = append(out, rs)
		}
	}
	out = append(out, mustPlan(t, custom(t), Options{Side: Server}), mustPlan(t, custom(t), Options{Side: Client, Mode: Active}))
	metrics := "[metrics]\nlisten = \"0.0.0.0:9464\""
	out = append(out, mustPlan(t, load(t, metrics), Options{Side: Server, OpenMetrics: "192.0.2.0/24"}),
		mustPlan(t, load(t, metrics), Options{Side: Server, OpenMetrics: "2001:db8::/64", DefaultDrop: true}),
		mustPlan(t, load(t, metrics), Options{Side: Server, OpenMetrics: "198.51.100.7", Stateless: true}))
	return out
}

// TestOpenMetrics: the metrics listener is closed to the outside unless
// --open-metrics names a source, and then it is open to that source
// alone; a configuration without metrics, a loopback listener, every
// address, and a name that is no address are refused with a clear error.
func TestOpenMetrics(t *testing.T) {
	metrics := "[metrics]\nlisten = \"0.0.0.0:9464\""
	for _, r := range mustPlan(t, load(t, metrics), Options{Side: Server}).Rules {
		if r.LocalPorts == "9464" {
			t.Fatalf("metrics open without --open-metrics: %+v", r)
		}
	}
	var open []Rule
	for _, r := range mustPlan(t, load(t, metrics), Options{Side: Server, OpenMetrics: "10.1.0.0/16"}).Rules {
		if r.LocalPorts == "9464" {
			open = append(open, r)
		}
	}
	if len(open) != 1 || open[0].Direction != In || open[0].Remote != "10.1.0.0/16" {
		t.Fatalf("--open-metrics 10.1.0.0/16: %+v", open)
	}
	out := render(t, mustPlan(t, load(t, metrics), Options{Side: Server, OpenMetrics: "10.1.0.0/16"}), "nft")
	if !strings.Contains(out, "ip saddr 10.1.0.0/16 tcp dport 9464 accept") {
		t.Errorf("nft:\n%s", out)
	}
	for _, c := range []struct{ toml, from, want string }{
		{"", "10.0.0.0/8", "no metrics listener"},
		{"[metrics]\nlisten = \"127.0.0.1:9464\"", "10.0.0.0/8", "no other host reaches"},
		{"[metrics]\nlisten = \"[::1]:9464\"", "10.0.0.0/8", "no other host reaches"},
		{metrics, "0.0.0.0/0", "every address"},
		{metrics, "scraper.example", "neither an address nor a prefix"},
	} {
		_, err := Plan(load(t, c.toml), Options{Side: Server, OpenMetrics: c.from})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q --open-metrics %s: %v, want %q", c.toml, c.from, err, c.want)
		}
	}
}

func mustPlan(t *testing.T, c *listen.Plan, o Options) *Ruleset {
	t.Helper()
	rs, err := Plan(c, o)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install nftables iptables): cannot validate its rules", name)
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s -c needs root to reach netfilter; run the tests as root", name)
	}
	return p
}

func validate(t *testing.T, input string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s %s rejects the ruleset: %v\n%s\n--- ruleset:\n%s", name, strings.Join(args, " "), err, out, input)
	}
}

func TestNftAccepts(t *testing.T) {
	nft := tool(t, "nft")
	cases := validationCases(t)
	cases = append(cases, mustPlan(t, custom(t), Options{Side: Router, ForwardTo: "10.0.2.2"}),
		mustPlan(t, load(t, "public_host = \"2001:db8::7\""), Options{Side: Router, ForwardTo: "fd00::2"}),
		mustPlan(t, load(t, "public_host = \"ftp.example.net\""), Options{Side: Router, ForwardTo: "10.0.0.2"}))
	for _, rs := range cases {
		out := render(t, rs, "nft")
		if rs.Side != Router && !rs.defaultDrop {
			// Chains to include in the administrator's own table.
			inc := filepath.Join(t.TempDir(), "ferry.nft")
			if err := os.WriteFile(inc, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			out = fmt.Sprintf("table inet admin {\n\tinclude %q\n\tchain input { type filter hook input priority filter; policy drop; jump ferry_input; }\n\tchain output { type filter hook output priority filter; jump ferry_output; }\n}\n", inc)
		}
		validate(t, out, nft, "-c", "-f", "-")
	}
}

func TestIptablesRestoreAccepts(t *testing.T) {
	v4 := tool(t, "iptables-restore")
	v6 := tool(t, "ip6tables-restore")
	for _, rs := range validationCases(t) {
		out := render(t, rs, "iptables")
		validate(t, out, v4, "--test")
		validate(t, out, v6, "--test")
	}
}

// TestKeepPorts: the SSH port of $SSH_CONNECTION, 22 unless --no-ssh, and
// every --keep-port, each once.
func TestKeepPorts(t *testing.T) {
	ports := func(ks []Keep) []int {
		var ps []int
		for _, k := range ks {
			ps = append(ps, k.Port)
		}
		return ps
	}
	ks, err := KeepPorts("192.0.2.9 51234 192.0.2.1 2200", false, []int{5666, 22})
	if err != nil || fmt.Sprint(ports(ks)) != "[2200 22 5666]" {
		t.Fatalf("got %v, %v", ports(ks), err)
	}
	if ks, _ := KeepPorts("", false, nil); fmt.Sprint(ports(ks)) != "[22]" {
		t.Fatalf("no SSH session: %v", ports(ks))
	}
	if ks, _ := KeepPorts("192.0.2.9 51234 192.0.2.1 2200", true, []int{80}); fmt.Sprint(ports(ks)) != "[80]" {
		t.Fatalf("--no-ssh: %v", ports(ks))
	}
	if _, err := KeepPorts("a b c port", false, nil); err == nil {
		t.Fatal("a bad $SSH_CONNECTION was accepted")
	}
	if _, err := KeepPorts("", false, []int{70000}); err == nil {
		t.Fatal("--keep-port 70000 was accepted")
	}
}
