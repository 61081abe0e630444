package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testpg"
	"github.com/ferry-project/ferry/internal/testutil"
)

// The backend namespace of TestClusterShared, behind the balancer's
// namespace, which routes between it, the nodes and the clients:
//
//	balancer 10.77.4.1 --- 10.77.4.20 backend (PostgreSQL :5432, versitygw :7070)
const (
	clusterBackend = "10.77.4.20"
	clusterS3Port  = "7070"
	clusterBucket  = "ferry"
	clusterS3Key   = "clusterkey"
	clusterS3Sec   = "cluster-secret-key"
)

// TestClusterShared runs two ferry nodes behind HAProxy on one PostgreSQL
// store and one S3 bucket (versitygw), every engine real and in its own
// namespace, configured from `ferry firewall --cluster`:
//   - a user added through node a logs in on both nodes; files uploaded
//     over explicit FTPS through the balancer come back byte-exact over
//     HTTPS, SFTP and implicit FTPS whichever node serves them;
//   - ten wrong passwords from one address, five through the balancer and
//     five straight to the other node, ban the address on both;
//   - node a is killed (-9) during 20 uploads: the clients retry through
//     the balancer and land on node b, every upload reported complete is
//     in the bucket byte-exact, and after node a's restart no multipart
//     upload is left open.
func TestClusterShared(t *testing.T) {
	testutil.Need(t, "versitygw", "haproxy", "curl", "sshpass", "sftp")
	n := newClusterNet(t)
	back := strings.TrimSuffix(n.lb, "-lb") + "-s"
	n.ip("netns", "add", back)
	t.Cleanup(func() {
		out, _ := exec.Command("ip", "netns", "pids", back).Output()
		for _, f := range strings.Fields(string(out)) {
			exec.Command("kill", "-9", f).Run()
		}
		exec.Command("ip", "netns", "del", back).Run()
	})
	n.ip("link", "add", "s0", "netns", back, "type", "veth", "peer", "name", "l3", "netns", n.lb)
	n.ip("-n", n.lb, "addr", "add", "10.77.4.1/24", "dev", "l3")
	n.ip("-n", n.lb, "link", "set", "l3", "up")
	n.ip("-n", back, "addr", "add", clusterBackend+"/24", "dev", "s0")
	n.ip("-n", back, "link", "set", "s0", "up")
	n.ip("-n", back, "link", "set", "lo", "up")
	if out, err := exec.Command("ip", "netns", "exec", n.lb, "sysctl", "-qw", "net.ipv4.ip_forward=1").CombinedOutput(); err != nil {
		t.Fatalf("forwarding in the balancer's namespace: %v %s", err, out)
	}
	for ns, gw := range map[string]string{n.nodeA: "10.77.2.1", n.nodeB: "10.77.3.1", back: "10.77.4.1", n.client: clusterPublic} {
		n.ip("-n", ns, "route", "add", "default", "via", gw)
	}

	pg := testpg.StartIn(t, back, clusterBackend)
	dir := t.TempDir()
	s3dir := filepath.Join(dir, "s3")
	os.MkdirAll(s3dir, 0o755)
	s3logs := &testutil.Buffer{}
	cmd := exec.Command("ip", "netns", "exec", back, "versitygw", "--access", clusterS3Key, "--secret", clusterS3Sec,
		"--port", clusterBackend+":"+clusterS3Port, "--quiet", "posix", s3dir)
	cmd.Stdout, cmd.Stderr = s3logs, s3logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.procs = append(n.procs, cmd)
	n.waitPort(back, clusterBackend, 7070, s3logs)
	s3 := func(method, query string) string {
		t.Helper()
		out, err := n.run(back, "curl", "-sS", "--fail-with-body", "-X", method, "--aws-sigv4", "aws:amz:us-east-1:s3",
			"-H", "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"--user", clusterS3Key+":"+clusterS3Sec, "http://"+clusterBackend+":"+clusterS3Port+"/"+clusterBucket+query)
		if err != nil {
			t.Fatalf("s3 %s %s: %v\n%s", method, query, err, out)
		}
		return out
	}
	s3("PUT", "")

	cpath := filepath.Join(dir, "cluster.toml")
	if err := os.WriteFile(cpath, []byte(clusterTOML), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ferryBin, "firewall", "--cluster", cpath, "--format", "haproxy").Output()
	if err != nil {
		t.Fatal(err)
	}
	haCfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(haCfg, out, 0o644)
	out, err = exec.Command(ferryBin, "firewall", "--cluster", cpath, "--format", "node").Output()
	if err != nil {
		t.Fatal(err)
	}
	fragments := regexp.MustCompile(`(?m)^# ---- node `).Split(string(out), -1)[1:]
	if len(fragments) != 2 {
		t.Fatalf("%d node fragments, want 2", len(fragments))
	}
	type node struct {
		name, ns, addr, config string
		logs                   *testutil.Buffer
		proc                   *exec.Cmd
	}
	nodes := []*node{{name: "a", ns: n.nodeA, addr: clusterNodeA}, {name: "b", ns: n.nodeB, addr: clusterNodeB}}
	storage := fmt.Sprintf("s3://%s/homes?endpoint=%s:%s&secure=false&region=us-east-1", clusterBucket, clusterBackend, clusterS3Port)
	for i, nd := range nodes {
		ndir := filepath.Join(dir, nd.name)
		os.MkdirAll(ndir, 0o755)
		nd.config = filepath.Join(ndir, "ferry.toml")
		text := fmt.Sprintf("data_dir = \"ferry-data\"\nlog_level = \"debug\"\nstore = %q\nstorage = %q\n# %s\n[s3]\naccess_key = %q\nsecret_key = %q\npart_size_mb = 5\n",
			pg.DSN, storage, fragments[i], clusterS3Key, clusterS3Sec)
		if err := os.WriteFile(nd.config, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		nd.logs = &testutil.Buffer{}
	}
	const user, pw = "alice", "Cluster-S3cret-pw"
	// One user, added once, through node a's configuration.
	if out, err := n.runInput(nodes[0].ns, pw+"\n", ferryBin, "user", "add", user, "--password-stdin", "--config", nodes[0].config); err != nil {
		t.Fatalf("ferry user add: %v\n%s", err, out)
	}
	startNode := func(nd *node) {
		t.Helper()
		c := exec.Command("ip", "netns", "exec", nd.ns, ferryBin, "serve", "--config", nd.config)
		c.Dir = filepath.Dir(nd.config)
		c.Stdout, c.Stderr = nd.logs, nd.logs
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		nd.proc = c
		n.procs = append(n.procs, c)
		n.waitPort(nd.ns, nd.addr, 21, nd.logs)
	}
	for _, nd := range nodes {
		startNode(nd)
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
	waitLog(t, hlogs, "Health check for server passive_a/a succeeded", 20*time.Second)
	waitLog(t, hlogs, "Health check for server passive_b/b succeeded", 20*time.Second)

	objects := filepath.Join(s3dir, clusterBucket, "homes", user)
	// Round trips: up over explicit FTPS from several addresses (both
	// nodes), back over HTTPS, SFTP and implicit FTPS.
	files := map[string][]byte{}
	for i := 2; i <= 9; i++ {
		src := fmt.Sprintf("10.77.1.%d", i)
		data := testutil.RandomBytes(256<<10+i, uint64(100+i))
		local := filepath.Join(dir, "up-"+src)
		os.WriteFile(local, data, 0o644)
		name := "rt-" + src + ".bin"
		if out, err := n.run(n.client, "curl", "-sS", "--ssl-reqd", "-k", "--interface", src, "--max-time", "60",
			"-T", local, "ftp://"+user+":"+pw+"@"+clusterPublic+":21/"+name); err != nil {
			t.Fatalf("FTPS upload from %s: %v\n%s", src, err, out)
		}
		files[name] = data
	}
	for _, nd := range nodes {
		if !strings.Contains(nd.logs.String(), "login.ok") {
			t.Fatalf("node %s served no login: the user added through node a is not on both (or the balancer used one node)", nd.name)
		}
	}
	i := 10
	for name, data := range files {
		src := fmt.Sprintf("10.77.1.%d", i%19+2)
		i++
		dst := filepath.Join(dir, "sftp-"+name)
		if out, err := n.run(n.client, "sshpass", "-p", pw, "sftp", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BindAddress="+src, "-o", "ConnectTimeout=20", user+"@"+clusterPublic+":/"+name, dst); err != nil {
			t.Fatalf("sftp %s from %s: %v\n%s", name, src, err, out)
		}
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("sftp %s from %s: %d bytes, %v; want %d byte-exact", name, src, len(got), err, len(data))
		}
		for _, url := range []string{
			"https://" + clusterPublic + "/api/v1/files/" + name,
			"ftps://" + clusterPublic + ":990/" + name,
		} {
			got, err := exec.Command("ip", "netns", "exec", n.client, "curl", "-sS", "--fail", "-k", "--insecure", "--interface", src,
				"--max-time", "60", "-u", user+":"+pw, url).Output()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s from %s: %d bytes, %v; want %d byte-exact", url, src, len(got), err, len(data))
			}
		}
		if got, err := os.ReadFile(filepath.Join(objects, name)); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("object %s in the bucket: %d bytes, %v", name, len(got), err)
		}
	}
	for _, nd := range nodes {
		filepath.WalkDir(filepath.Join(dir, nd.name, "ferry-data", "homes"), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				t.Errorf("node %s wrote %s to its local disk with storage on S3", nd.name, p)
			}
			return nil
		})
	}

	// Ten wrong passwords from one address, spread over both nodes.
	const attacker = "10.77.1.19"
	wrong := func(host string) {
		n.run(n.client, "curl", "-sS", "--ssl-reqd", "-k", "--interface", attacker, "--max-time", "20",
			"ftp://"+user+":wrong-password@"+host+":21/")
	}
	for range 5 {
		wrong(clusterPublic)
	}
	first, second := nodes[0], nodes[1]
	if !strings.Contains(first.logs.String(), "remote="+attacker+":") {
		first, second = second, first
	}
	for range 5 {
		wrong(second.addr)
	}
	for _, host := range []string{clusterPublic, first.addr, second.addr} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := n.run(n.client, "curl", "-sS", "-v", "--ssl-reqd", "-k", "--interface", attacker, "--max-time", "20",
				"ftp://"+user+":"+pw+"@"+host+":21/")
			if strings.Contains(out, "421") && strings.Contains(out, "banned") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after ten wrong passwords over two nodes, %s does not refuse the address as banned:\n%s", host, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}

	// Node a dies during 20 uploads; the clients retry through the
	// balancer until they succeed or a minute and a half passes.
	type result struct {
		name string
		data []byte
		ok   bool
	}
	results := make([]result, 20)
	var wg sync.WaitGroup
	for k := range results {
		src := fmt.Sprintf("10.77.1.%d", 2+k%17)
		name := fmt.Sprintf("kill-%02d.bin", k)
		data := testutil.RandomBytes(8<<20+k, uint64(1000+k))
		local := filepath.Join(dir, name)
		os.WriteFile(local, data, 0o644)
		results[k] = result{name: name, data: data}
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) {
				_, err := n.run(n.client, "curl", "-sS", "--ssl-reqd", "-k", "--interface", src, "--max-time", "30",
					"--limit-rate", "2M", "-T", local, "ftp://"+user+":"+pw+"@"+clusterPublic+":21/"+name)
				if err == nil {
					results[k].ok = true
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
	// At 2 MB/s an upload has sent its first 5 MiB part, so it holds an
	// open multipart upload, after 2.5 s.
	time.Sleep(3500 * time.Millisecond)
	victim := nodes[0]
	victim.proc.Process.Signal(syscall.SIGKILL)
	victim.proc.Wait()
	wg.Wait()
	for _, r := range results {
		got, err := os.ReadFile(filepath.Join(objects, r.name))
		switch {
		case r.ok && (err != nil || !bytes.Equal(got, r.data)):
			t.Errorf("%s was reported complete but the bucket holds %d bytes (%v), not %d byte-exact", r.name, len(got), err, len(r.data))
		case !r.ok && err == nil && !bytes.Equal(got, r.data):
			t.Errorf("%s failed and a half-written object of %d bytes is under its name", r.name, len(got))
		case !r.ok:
			t.Errorf("%s never succeeded through the balancer with node a dead", r.name)
		}
	}
	// Node a's restart aborts the multipart uploads it left behind;
	// versitygw keeps each open one as a folder of its bucket's.
	open := func() int {
		entries, _ := os.ReadDir(filepath.Join(s3dir, clusterBucket, ".sgwtmp", "multipart"))
		return len(entries)
	}
	t.Logf("%d multipart uploads open before node a's restart", open())
	victim.logs = &testutil.Buffer{}
	startNode(victim)
	if n := open(); n != 0 {
		t.Fatalf("%d multipart uploads left open after node a's restart", n)
	}
}

// runInput runs a command in a namespace with stdin.
func (n *clusterNet) runInput(ns, stdin, name string, args ...string) (string, error) {
	c := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	c.Stdin = strings.NewReader(stdin)
	out, err := c.CombinedOutput()
	return string(out), err
}

// waitLog waits until logs holds want.
func waitLog(t *testing.T, logs *testutil.Buffer, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
