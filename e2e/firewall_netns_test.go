package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/listen"
)

// The namespaces of the firewall test, wired like a small office behind a
// NAT router:
//
//	client 198.51.100.2 --- 198.51.100.1 router 10.0.2.1 --- 10.0.2.2 server
//
// The addresses exist only inside namespaces the test creates.
const (
	clientAddr     = "198.51.100.2"
	routerOutside  = "198.51.100.1"
	routerInside   = "10.0.2.1"
	serverAddr     = "10.0.2.2"
	outsidePrefix  = "/24"
	insidePrefix   = "/24"
	nsCommandLimit = 90 * time.Second
)

type topology struct {
	t                      *testing.T
	client, router, server string
}

// newTopology creates the three namespaces and their links; it skips the
// test only when the machine cannot create namespaces at all.
func newTopology(t *testing.T) *topology {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run the e2e tests as root (CI does)")
	}
	testutil.Need(t, "ip")
	b := make([]byte, 4)
	rand.Read(b)
	id := "ferry-" + hex.EncodeToString(b)
	n := &topology{t: t, client: id + "-cli", router: id + "-rtr", server: id + "-srv"}
	if out, err := exec.Command("ip", "netns", "add", n.client).CombinedOutput(); err != nil {
		t.Skipf("this machine cannot create network namespaces (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(n.teardown)
	for _, ns := range []string{n.router, n.server} {
		n.ip("netns", "add", ns)
	}
	n.ip("link", "add", "c0", "netns", n.client, "type", "veth", "peer", "name", "r0", "netns", n.router)
	n.ip("link", "add", "s0", "netns", n.server, "type", "veth", "peer", "name", "r1", "netns", n.router)
	for _, a := range []struct{ ns, dev, addr string }{
		{n.client, "c0", clientAddr + outsidePrefix},
		{n.router, "r0", routerOutside + outsidePrefix},
		{n.router, "r1", routerInside + insidePrefix},
		{n.server, "s0", serverAddr + insidePrefix},
	} {
		n.ip("-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		n.ip("-n", a.ns, "link", "set", a.dev, "up")
	}
	for _, ns := range []string{n.client, n.router, n.server} {
		n.ip("-n", ns, "link", "set", "lo", "up")
	}
	n.ip("-n", n.client, "route", "add", "default", "via", routerOutside)
	n.ip("-n", n.server, "route", "add", "default", "via", routerInside)
	n.must(n.router, "", "sysctl", "-qw", "net.ipv4.ip_forward=1")
	return n
}

func (n *topology) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// teardown kills whatever still runs in the namespaces (daemons that called
// setsid outlive their parent) and deletes them, which removes the links.
func (n *topology) teardown() {
	for _, ns := range []string{n.client, n.router, n.server} {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// exec runs a command inside a namespace with extra environment.
func (n *topology) exec(ns string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), nsCommandLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *topology) must(ns, stdin, name string, args ...string) string {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.t.Fatalf("in %s: %s %s: %v\n%s", ns, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// connect tries a TCP connection from a namespace. It tells a refused
// connection from one that gets no answer (a firewall's drop).
func (n *topology) connect(ns, host string, port int, wait time.Duration) error {
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", host, port)
	secs := strconv.Itoa(int(wait / time.Second))
	out, err := exec.Command("ip", "netns", "exec", ns, "timeout", secs, "bash", "-c", script).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() == 124:
		return errNoAnswer
	}
	return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
}

var errNoAnswer = errors.New("no answer")

// nsServe starts `ferry serve` inside the server namespace under the
// harness's process handling, and waits until every control port answers.
func (n *topology) nsServe(s *server) {
	n.t.Helper()
	s.logs = &testutil.Buffer{}
	s.cmd = exec.Command("ip", "netns", "exec", n.server, ferryBin, "serve", "--config", s.ConfigPath)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
	deadline := time.Now().Add(60 * time.Second)
	for _, e := range listen.New(s.Cfg).Entries {
		if e.Kind != listen.Control {
			continue
		}
		// From inside the server's namespace: the firewall lets its own
		// traffic through, and the NAT boundary does not apply.
		for n.connect(n.server, serverAddr, e.Ports.Low, time.Second) != nil {
			select {
			case err := <-s.done:
				n.t.Fatalf("ferry serve exited (%v):\n%s", err, s.logs)
			default:
			}
			if time.Now().After(deadline) {
				n.t.Fatalf("ferry serve does not listen on port %d:\n%s", e.Ports.Low, s.logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// nsConfig is a server configuration on the standard ports of the design,
// listening on the server namespace's address.
func nsConfig(t *testing.T, publicHost string) *server {
	return newServer(t, func(c *config.Config) {
		d := config.Default()
		c.ListenAddress = serverAddr
		c.PublicHost = publicHost
		c.FTP.Port, c.FTP.ImplicitPort, c.FTP.PassivePorts = d.FTP.Port, d.FTP.ImplicitPort, d.FTP.PassivePorts
		c.FTP.ActiveSourcePort = d.FTP.ActiveSourcePort
		c.SFTP.Port, c.HTTP.Port, c.HTTP.HTTPSPort = d.SFTP.Port, d.HTTP.Port, d.HTTP.HTTPSPort
	})
}

// loadRules prints a ruleset with `ferry firewall` and loads it with nft in
// a namespace.
func (n *topology) loadRules(ns string, s *server, args ...string) string {
	n.t.Helper()
	rules, err := s.ferry("", append([]string{"firewall", "--format", "nft"}, args...)...)
	if err != nil {
		n.t.Fatalf("ferry firewall %v: %v\n%s", args, err, rules)
	}
	n.must(ns, rules, "nft", "-f", "-")
	return rules
}

func TestFirewallNetns(t *testing.T) {
	testutil.Need(t, "nft", "curl", "lftp", "sftp", "sshpass", "bash", "timeout", "python3")
	n := newTopology(t)
	const user, password = "ann", "netns-secret"

	s := nsConfig(t, "")
	home := s.addUser(user, password)
	payload := testutil.RandomBytes(256<<10, 7)
	if err := os.WriteFile(filepath.Join(home, "data.bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	plan := listen.New(s.Cfg)
	ctl := func(svc listen.Service) int {
		e, ok := plan.Find(svc, listen.Control)
		if !ok {
			t.Fatalf("the plan has no %s listener", svc)
		}
		return e.Ports.Low
	}

	// The server's firewall is exactly what `ferry firewall` prints: a
	// default-drop input policy plus the planned ports.
	rules := n.loadRules(n.server, s, "--default-drop")
	if !strings.Contains(rules, "policy drop") {
		t.Fatalf("the server ruleset has no default-drop input policy:\n%s", rules)
	}
	n.nsServe(s)

	// A listener on a port outside the plan: reachable inside the server,
	// dropped from the client.
	outside := testutil.FreePort(t)
	for _, e := range plan.Entries {
		if e.Ports.Contains(outside) {
			t.Fatalf("random port %d lies inside the plan", outside)
		}
	}
	py := exec.Command("ip", "netns", "exec", n.server, "python3", "-m", "http.server", strconv.Itoa(outside), "--bind", serverAddr)
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { py.Process.Kill(); py.Wait() })

	out := t.TempDir()
	got := func(t *testing.T, path string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, payload) {
			t.Fatalf("downloaded file differs from the original (%d bytes, %v)", len(b), err)
		}
		os.Remove(path)
	}
	hostPort := func(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
	lftpGet := func(t *testing.T, url, dst string) {
		t.Helper()
		script := fmt.Sprintf("debug 9; set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; "+
			"set ftp:passive-mode off; set net:max-retries 1; set net:timeout 15; open -u %s,%s %s; get data.bin -o %s; bye",
			user, password, url, dst)
		o, err := n.exec(n.client, nil, "lftp", "-c", script)
		if err != nil {
			t.Fatalf("lftp active %s: %v\n%s", url, err, o)
		}
		// The server must really have connected out: lftp sent PORT or
		// EPRT, never PASV or EPSV.
		if !strings.Contains(o, "---> EPRT") && !strings.Contains(o, "---> PORT") || strings.Contains(o, "---> EPSV") || strings.Contains(o, "---> PASV") {
			t.Fatalf("lftp did not use active mode:\n%s", o)
		}
		got(t, dst)
	}

	t.Run("explicit FTPS passive", func(t *testing.T) {
		dst := filepath.Join(out, "ep")
		if o, err := n.exec(n.client, nil, "curl", "-sS", "--ssl-reqd", "-k", "-m", "60", "-u", user+":"+password,
			"ftp://"+hostPort(serverAddr, ctl(listen.FTP))+"/data.bin", "-o", dst); err != nil {
			t.Fatalf("curl: %v\n%s", err, o)
		}
		got(t, dst)
	})
	t.Run("implicit FTPS passive", func(t *testing.T) {
		dst := filepath.Join(out, "ip")
		if o, err := n.exec(n.client, nil, "curl", "-sS", "-k", "-m", "60", "-u", user+":"+password,
			"ftps://"+hostPort(serverAddr, ctl(listen.FTPImplicit))+"/data.bin", "-o", dst); err != nil {
			t.Fatalf("curl: %v\n%s", err, o)
		}
		got(t, dst)
	})
	t.Run("explicit FTPS active", func(t *testing.T) {
		lftpGet(t, "ftp://"+hostPort(serverAddr, ctl(listen.FTP)), filepath.Join(out, "ea"))
	})
	t.Run("implicit FTPS active", func(t *testing.T) {
		lftpGet(t, "ftps://"+hostPort(serverAddr, ctl(listen.FTPImplicit)), filepath.Join(out, "ia"))
	})
	t.Run("SFTP", func(t *testing.T) {
		dst := filepath.Join(out, "sftp")
		batch := filepath.Join(out, "batch")
		os.WriteFile(batch, []byte("get data.bin "+dst+"\n"), 0o644)
		if o, err := n.exec(n.client, nil, "sshpass", "-p", password, "sftp", "-oBatchMode=no", "-oStrictHostKeyChecking=no",
			"-oUserKnownHostsFile=/dev/null", "-P", strconv.Itoa(ctl(listen.SFTP)), "-b", batch, user+"@"+serverAddr); err != nil {
			t.Fatalf("sftp: %v\n%s", err, o)
		}
		got(t, dst)
	})
	t.Run("HTTPS", func(t *testing.T) {
		dst := filepath.Join(out, "https")
		if o, err := n.exec(n.client, nil, "curl", "-sS", "-f", "-k", "-m", "60", "-u", user+":"+password,
			"https://"+hostPort(serverAddr, ctl(listen.HTTPS))+"/api/v1/files/data.bin", "-o", dst); err != nil {
			t.Fatalf("curl: %v\n%s", err, o)
		}
		got(t, dst)
	})
	t.Run("port outside the plan is dropped", func(t *testing.T) {
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if err = n.connect(n.server, serverAddr, outside, time.Second); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("the listener on port %d does not answer inside the server: %v", outside, err)
		}
		if err := n.connect(n.client, serverAddr, outside, 3*time.Second); !errors.Is(err, errNoAnswer) {
			t.Fatalf("connection to port %d outside the plan: %v, want it dropped (no answer)", outside, err)
		}
	})
	t.Run("ferry check passes", func(t *testing.T) {
		o, err := n.exec(n.client, []string{"FERRY_PASSWORD=" + password}, ferryBin, "check", serverAddr, "--config", s.ConfigPath, "--user", user, "--timeout", "10s")
		if err != nil {
			t.Fatalf("ferry check through the firewall: %v\n%s", err, o)
		}
		// Dialled at its private address, the server rightly advertises
		// it, and the probe warns that outside clients would need
		// public_host.
		if !strings.Contains(o, "all checks passed (") || !strings.Contains(o, "listed") || !strings.Contains(o, "which is private") {
			t.Fatalf("ferry check output:\n%s", o)
		}
	})
	if err := s.stop(); err != nil {
		t.Fatalf("ferry serve exit: %v\n%s", err, s.Logs())
	}

	// NAT: the router forwards what `ferry firewall --side router` prints,
	// and, like any NAT boundary, drops new connections from outside to the
	// private network that it did not forward.
	nat := nsConfig(t, routerOutside)
	home = nat.addUser(user, password)
	if err := os.WriteFile(filepath.Join(home, "data.bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	n.loadRules(n.router, nat, "--side", "router", "--forward-to", serverAddr)
	n.must(n.router, `table inet boundary {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "r0" ct state new ct status & dnat == 0 drop
	}
}
`, "nft", "-f", "-")
	n.loadRules(n.server, nat, "--default-drop")

	// A client that trusts the address in the PASV reply, as most do.
	pasvGet := func(dst string) (string, error) {
		return n.exec(n.client, nil, "curl", "-sS", "--ssl-reqd", "-k", "--disable-epsv", "--no-ftp-skip-pasv-ip",
			"--connect-timeout", "5", "-m", "30", "-u", user+":"+password,
			"ftp://"+hostPort(routerOutside, ctl(listen.FTP))+"/data.bin", "-o", dst)
	}
	n.nsServe(nat)
	t.Run("NAT with public_host", func(t *testing.T) {
		dst := filepath.Join(out, "nat")
		if o, err := pasvGet(dst); err != nil {
			t.Fatalf("passive FTPS through the NAT router: %v\n%s", err, o)
		}
		got(t, dst)
		o, err := n.exec(n.client, []string{"FERRY_PASSWORD=" + password}, ferryBin, "check", routerOutside, "--config", nat.ConfigPath, "--user", user, "--timeout", "10s")
		if err != nil {
			t.Fatalf("ferry check through the NAT router: %v\n%s", err, o)
		}
	})
	if err := nat.stop(); err != nil {
		t.Fatalf("ferry serve exit: %v\n%s", err, nat.Logs())
	}

	// The first server's configuration: same ports, no public_host.
	n.nsServe(s)
	t.Run("NAT without public_host", func(t *testing.T) {
		if o, err := pasvGet(filepath.Join(out, "nat-broken")); err == nil {
			t.Fatalf("passive FTPS through NAT worked without public_host; the test topology is not a NAT:\n%s", o)
		}
		o, err := n.exec(n.client, []string{"FERRY_PASSWORD=" + password}, ferryBin, "check", routerOutside, "--config", s.ConfigPath, "--user", user, "--timeout", "5s")
		if err == nil {
			t.Fatalf("ferry check passed although PASV advertises the private address:\n%s", o)
		}
		for _, want := range []string{"MISMATCH", serverAddr, "a private address", "public_host = \"" + routerOutside + "\""} {
			if !strings.Contains(o, want) {
				t.Errorf("ferry check does not name the cause (%q missing):\n%s", want, o)
			}
		}
	})
	if err := s.stop(); err != nil {
		t.Fatalf("ferry serve exit: %v\n%s", err, s.Logs())
	}
}

// TestFirewallCommand checks the command line of `ferry firewall` and
// `ferry check` on loopback: the JSON form of DESIGN §4 carries the
// configured ports, bad input is refused with a clear message, and check
// exits non-zero when the server is down.
func TestFirewallCommand(t *testing.T) {
	s := newServer(t, nil)
	out, err := s.ferry("", "firewall", "--format", "json")
	if err != nil {
		t.Fatalf("ferry firewall --format json: %v\n%s", err, out)
	}
	var doc struct {
		Side     string `json:"side"`
		Stateful bool   `json:"stateful"`
		Rules    []struct {
			Direction   string `json:"direction"`
			Protocol    string `json:"protocol"`
			LocalPorts  string `json:"local_ports"`
			Remote      string `json:"remote"`
			RemotePorts string `json:"remote_ports"`
			Purpose     string `json:"purpose"`
		} `json:"rules"`
		Warnings []string `json:"warnings"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if doc.Side != "server" || !doc.Stateful {
		t.Errorf("side %q stateful %v", doc.Side, doc.Stateful)
	}
	inbound := map[string]bool{}
	for _, r := range doc.Rules {
		if r.Direction == "in" && r.Protocol == "tcp" && r.Remote == "any" && r.RemotePorts == "any" && r.Purpose != "" {
			inbound[r.LocalPorts] = true
		}
	}
	for _, e := range listen.New(s.Cfg).Entries {
		if e.Kind != listen.Active && !inbound[e.Ports.String()] {
			t.Errorf("no inbound rule for %s %s port %s in\n%s", e.Service, e.Kind, e.Ports, out)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"firewall", "--format", "pf"}, "unknown format"},
		{[]string{"firewall", "--side", "client"}, "--server"},
		{[]string{"firewall", "--side", "client", "--server", "192.0.2.1", "--mode", "sideways"}, "passive or active"},
		{[]string{"check"}, "exactly one HOST"},
	} {
		out, err := s.ferry("", tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("ferry %v: %v, want a failure naming %q:\n%s", tc.args, err, tc.want, out)
		}
	}

	// Nothing listens: every control port is refused, and check says so
	// with a failing exit status for monitoring.
	out, err = s.ferry("", "check", "127.0.0.1", "--timeout", "2s", "--json")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("ferry check of a stopped server: %v, want exit status 1\n%s", err, out)
	}
	if !strings.Contains(out, `"ok": false`) || !strings.Contains(out, "refused") {
		t.Errorf("ferry check --json of a stopped server:\n%s", out)
	}
}
