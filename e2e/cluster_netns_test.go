package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// The namespaces of TestClusterNetns, all created by the test:
//
//	client 10.77.1.2-.20 --- 10.77.1.1 balancer 10.77.2.1 --- 10.77.2.11 node a
//	                                            10.77.3.1 --- 10.77.3.12 node b
const (
	clusterPublic = "10.77.1.1"
	clusterNodeA  = "10.77.2.11"
	clusterNodeB  = "10.77.3.12"
)

const clusterTOML = `[balancer]
public_host = "10.77.1.1"
listen      = "10.77.1.1"
sources     = ["10.77.2.1", "10.77.3.1"]

[[node]]
name          = "a"
address       = "10.77.2.11"
passive_ports = "30000-30049"

[[node]]
name          = "b"
address       = "10.77.3.12"
passive_ports = "31000-31049"
`

type clusterNet struct {
	t                        *testing.T
	client, lb, nodeA, nodeB string
	procs                    []*exec.Cmd
}

func newClusterNet(t *testing.T) *clusterNet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run the e2e tests as root (CI does)")
	}
	testutil.Need(t, "ip", "haproxy", "curl", "bash", "timeout")
	b := make([]byte, 3)
	rand.Read(b)
	id := "fpx-" + hex.EncodeToString(b)
	n := &clusterNet{t: t, client: id + "-c", lb: id + "-lb", nodeA: id + "-a", nodeB: id + "-b"}
	if out, err := exec.Command("ip", "netns", "add", n.client).CombinedOutput(); err != nil {
		t.Skipf("this machine cannot create network namespaces (ip netns add: %v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(n.teardown)
	for _, ns := range []string{n.lb, n.nodeA, n.nodeB} {
		n.ip("netns", "add", ns)
	}
	n.ip("link", "add", "c0", "netns", n.client, "type", "veth", "peer", "name", "l0", "netns", n.lb)
	n.ip("link", "add", "a0", "netns", n.nodeA, "type", "veth", "peer", "name", "l1", "netns", n.lb)
	n.ip("link", "add", "b0", "netns", n.nodeB, "type", "veth", "peer", "name", "l2", "netns", n.lb)
	addrs := []struct{ ns, dev, addr string }{
		{n.lb, "l0", clusterPublic + "/24"}, {n.lb, "l1", "10.77.2.1/24"}, {n.lb, "l2", "10.77.3.1/24"},
		{n.nodeA, "a0", clusterNodeA + "/24"}, {n.nodeB, "b0", clusterNodeB + "/24"},
	}
	for i := 2; i <= 20; i++ {
		addrs = append(addrs, struct{ ns, dev, addr string }{n.client, "c0", fmt.Sprintf("10.77.1.%d/24", i)})
	}
	for _, a := range addrs {
		n.ip("-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		n.ip("-n", a.ns, "link", "set", a.dev, "up")
	}
	for _, ns := range []string{n.client, n.lb, n.nodeA, n.nodeB} {
		n.ip("-n", ns, "link", "set", "lo", "up")
	}
	return n
}

func (n *clusterNet) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (n *clusterNet) teardown() {
	for _, c := range n.procs {
		c.Process.Kill()
		c.Wait()
	}
	for _, ns := range []string{n.client, n.lb, n.nodeA, n.nodeB} {
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

// start runs a long-lived command in a namespace, its output in logs.
func (n *clusterNet) start(ns string, logs *testutil.Buffer, name string, args ...string) {
	n.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.procs = append(n.procs, cmd)
}

// waitPort waits until host:port accepts a TCP connection from ns.
func (n *clusterNet) waitPort(ns, host string, port int, logs *testutil.Buffer) {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec.Command("ip", "netns", "exec", ns, "timeout", "2", "bash", "-c",
			fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", host, port)).Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s:%d does not answer from %s:\n%s", host, port, ns, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (n *clusterNet) run(ns string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
	return string(out), err
}

// TestClusterNetns runs two ferry nodes behind HAProxy, each in its own
// namespace, configured only from what `ferry firewall --cluster` prints
// (the HAProxy configuration and each node's fragment). Clients from many
// addresses of a client namespace upload over explicit FTPS in passive
// mode through the balancer: the PASV reply of each upload names the
// balancer and a port of one node's range, the data connection reaches
// that very node, the file lands there byte-exact (and not on the other
// node), and each node logs the client's namespace address, never the
// balancer's.
func TestClusterNetns(t *testing.T) {
	n := newClusterNet(t)
	dir := t.TempDir()
	cpath := filepath.Join(dir, "cluster.toml")
	if err := os.WriteFile(cpath, []byte(clusterTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	printOut := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ferryBin, append([]string{"firewall", "--cluster", cpath}, args...)...).Output()
		if err != nil {
			t.Fatalf("ferry firewall --cluster %v: %v", args, err)
		}
		return string(out)
	}
	haCfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(haCfg, []byte(printOut("--format", "haproxy")), 0o644); err != nil {
		t.Fatal(err)
	}
	fragments := regexp.MustCompile(`(?m)^# ---- node `).Split(printOut("--format", "node"), -1)[1:]
	if len(fragments) != 2 {
		t.Fatalf("%d node fragments, want 2", len(fragments))
	}

	const user, pw = "alice", "Cluster-S3cret-pw"
	type node struct {
		name, ns, addr, config, home string
		passive                      [2]int
		logs                         *testutil.Buffer
	}
	nodes := []*node{{name: "a", ns: n.nodeA, addr: clusterNodeA, passive: [2]int{30000, 30049}},
		{name: "b", ns: n.nodeB, addr: clusterNodeB, passive: [2]int{31000, 31049}}}
	for i, nd := range nodes {
		ndir := filepath.Join(dir, nd.name)
		os.MkdirAll(ndir, 0o755)
		nd.config = filepath.Join(ndir, "ferry.toml")
		text := "data_dir = \"ferry-data\"\nlog_level = \"debug\"\n# " + fragments[i]
		if err := os.WriteFile(nd.config, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		add := exec.Command(ferryBin, "user", "add", user, "--password-stdin", "--config", nd.config)
		add.Stdin = strings.NewReader(pw + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("node %s: ferry user add: %v\n%s", nd.name, err, out)
		}
		// The same user on both nodes: each keeps its own store until the
		// shared PostgreSQL store.
		nd.home = filepath.Join(ndir, "ferry-data", "homes", user)
		nd.logs = &testutil.Buffer{}
		n.start(nd.ns, nd.logs, ferryBin, "serve", "--config", nd.config)
		n.waitPort(nd.ns, nd.addr, 21, nd.logs)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, nd := range nodes {
				t.Logf("node %s log:\n%s", nd.name, nd.logs)
			}
		}
	})
	hlogs := &testutil.Buffer{}
	n.start(n.lb, hlogs, "haproxy", "-db", "-f", haCfg)
	n.waitPort(n.client, clusterPublic, 21, hlogs)
	for _, nd := range nodes {
		want := "Health check for server passive_" + nd.name + "/" + nd.name + " succeeded"
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(hlogs.String(), want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(hlogs.String(), want) {
			t.Fatalf("node %s never passed the balancer's /healthz check:\n%s", nd.name, hlogs)
		}
	}

	pasv := regexp.MustCompile(`227 Entering Passive Mode \((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)`)
	seen := map[string][]string{} // node -> client addresses it served
	for i := 2; i <= 20 && (len(seen["a"]) == 0 || len(seen["b"]) == 0); i++ {
		src := fmt.Sprintf("10.77.1.%d", i)
		data := testutil.RandomBytes(512<<10+i, uint64(i))
		local := filepath.Join(dir, "up-"+src)
		os.WriteFile(local, data, 0o644)
		name := "from-" + src + ".bin"
		out, err := n.run(n.client, "curl", "-sS", "-v", "--ssl-reqd", "-k", "--interface", src, "--disable-epsv", "--no-ftp-skip-pasv-ip",
			"--max-time", "60", "-T", local, "ftp://"+user+":"+pw+"@"+clusterPublic+":21/"+name)
		if err != nil {
			t.Fatalf("upload from %s through the balancer: %v\n%s", src, err, out)
		}
		m := pasv.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no PASV reply in curl's trace:\n%s", out)
		}
		if host := strings.Join(m[1:5], "."); host != clusterPublic {
			t.Errorf("the PASV reply names %s, not the balancer's %s", host, clusterPublic)
		}
		p1, _ := strconv.Atoi(m[5])
		p2, _ := strconv.Atoi(m[6])
		port := p1*256 + p2
		var issuer, other *node
		for j, nd := range nodes {
			if port >= nd.passive[0] && port <= nd.passive[1] {
				issuer, other = nd, nodes[1-j]
			}
		}
		if issuer == nil {
			t.Fatalf("PASV port %d is in no node's range", port)
		}
		got, err := os.ReadFile(filepath.Join(issuer.home, name))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("node %s issued the PASV reply but has not the upload from %s byte-exact (%d bytes, %v)", issuer.name, src, len(got), err)
		}
		if _, err := os.Stat(filepath.Join(other.home, name)); err == nil {
			t.Errorf("the upload from %s is on node %s too", src, other.name)
		}
		seen[issuer.name] = append(seen[issuer.name], src)
	}
	if len(seen["a"]) == 0 || len(seen["b"]) == 0 {
		t.Fatalf("19 client addresses reached only one node: %v", seen)
	}
	for _, nd := range nodes {
		logs := nd.logs.String()
		for _, src := range seen[nd.name] {
			if !strings.Contains(logs, "service=ftp remote="+src+":") {
				t.Errorf("node %s does not log the client %s", nd.name, src)
			}
		}
		if regexp.MustCompile(`service=ftp remote=10\.77\.[23]\.1:`).MatchString(logs) {
			t.Errorf("node %s logs an FTP session from the balancer's address", nd.name)
		}
	}
	t.Logf("node a served %v, node b served %v", seen["a"], seen["b"])
}
