package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestFirewallKeepsAdmin: `ferry firewall --format nft` never locks the
// administrator out. Its default output, included into a server whose own
// ruleset accepts SSH on 22 and drops the rest, keeps 22 reachable and
// opens ferry's ports. With --default-drop it replaces the host's rules
// and still keeps the SSH port of $SSH_CONNECTION (2200 here) and 22;
// with --no-ssh neither stays open.
func TestFirewallKeepsAdmin(t *testing.T) {
	testutil.Need(t, "nft", "bash", "timeout", "python3")
	n := newTopology(t)
	s := newServer(t, func(c *config.Config) {
		c.ListenAddress = serverAddr
		c.FTP.Port, c.SFTP.Port = 21, 2222
	})
	const other = 8999 // a port nothing in the plan or the kept list names
	// Stand-ins for OpenSSH (22, 2200), ferry's FTP control (21) and some
	// other service: listeners that accept and hold connections.
	listener := exec.Command("ip", "netns", "exec", n.server, "python3", "-c", `
import socket, sys, time
ls = []
for p in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("`+serverAddr+`", int(p))); s.listen(16); ls.append(s)
print("ready", flush=True)
time.sleep(600)
`, "22", "2200", "21", strconv.Itoa(other))
	stdout, _ := listener.StdoutPipe()
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Process.Kill(); listener.Wait() })
	if _, err := stdout.Read(make([]byte, 5)); err != nil {
		t.Fatalf("listeners: %v", err)
	}
	firewall := func(env []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, ferryBin, append([]string{"firewall", "--format", "nft", "--config", s.ConfigPath}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ferry firewall %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	reach := func(want map[int]bool) {
		t.Helper()
		for port, open := range want {
			err := n.connect(n.client, serverAddr, port, 2*time.Second)
			if open && err != nil {
				t.Errorf("port %d: %v, want reachable", port, err)
			}
			if !open && err != errNoAnswer {
				t.Errorf("port %d: %v, want dropped", port, err)
			}
		}
	}

	inc := filepath.Join(t.TempDir(), "ferry.nft")
	rules := firewall([]string{"SSH_CONNECTION="})
	var body []string
	for _, l := range strings.Split(rules, "\n") {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	if b := strings.Join(body, "\n"); strings.Contains(b, "policy") || strings.Contains(b, "drop") || strings.Contains(b, "reject") {
		t.Fatalf("the default output sets a policy or drops:\n%s", rules)
	}
	writeFile(t, inc, []byte(rules))
	n.must(n.server, fmt.Sprintf(`table inet admin {
	include %q
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname "lo" accept
		tcp dport 22 accept
		jump ferry_input
	}
}
`, inc), "nft", "-f", "-")
	reach(map[int]bool{22: true, 21: true, 2200: false, other: false})

	n.must(n.server, "", "nft", "flush", "ruleset")
	rules = firewall([]string{"SSH_CONNECTION=" + clientAddr + " 50000 " + serverAddr + " 2200"}, "--default-drop")
	if !strings.Contains(rules, "keeps TCP port 2200 open") {
		t.Fatalf("no comment on the kept SSH port:\n%s", rules)
	}
	n.must(n.server, rules, "nft", "-f", "-")
	reach(map[int]bool{2200: true, 22: true, 21: true, other: false})

	n.must(n.server, "", "nft", "flush", "ruleset")
	rules = firewall([]string{"SSH_CONNECTION=" + clientAddr + " 50000 " + serverAddr + " 2200"}, "--default-drop", "--no-ssh", "--keep-port", strconv.Itoa(other))
	n.must(n.server, rules, "nft", "-f", "-")
	reach(map[int]bool{2200: false, 22: false, 21: true, other: true})
}
