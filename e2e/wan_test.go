package e2e

// A long-distance link for the client: two network namespaces joined by
// tundelay (../shared/lab/tundelay: the kernel has no netem), 25 ms each
// way at 1 Gbit/s, `ferry serve` on one side, the ferry client on the
// other.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

const (
	wanClientAddr = "198.18.0.1"
	wanServerAddr = "198.18.0.2"
)

// wan is the namespace pair and the delay link between them.
type wan struct {
	t              *testing.T
	client, server string // namespace names
	delay          *exec.Cmd
}

// tundelaySource is the lab tool's source beside the repository (CI keeps
// a copy of shared/ there too).
func tundelaySource(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "lab", "tundelay"))
	if err == nil {
		if _, err = os.Stat(filepath.Join(dir, "main.go")); err == nil {
			return dir
		}
	}
	msg := fmt.Sprintf("tundelay source not found at %s (../shared beside the repository): %v", dir, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

var tundelayOnce struct {
	sync.Mutex
	bin string
}

// buildTundelay builds the tool once per source version into the system's
// temporary folder.
func buildTundelay(t *testing.T) string {
	t.Helper()
	src := tundelaySource(t)
	tundelayOnce.Lock()
	defer tundelayOnce.Unlock()
	if tundelayOnce.bin != "" {
		return tundelayOnce.bin
	}
	code, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(code)
	bin := filepath.Join(os.TempDir(), "ferry-tundelay-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("go", "build", "-o", bin+".tmp", ".")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building tundelay: %v\n%s", err, out)
		}
		if err := os.Rename(bin+".tmp", bin); err != nil {
			t.Fatal(err)
		}
	}
	tundelayOnce.bin = bin
	return bin
}

// newWAN creates the namespaces and the link (25 ms each way, 1 Gbit/s).
func newWAN(t *testing.T) *wan {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root: run the e2e tests as root (CI does)")
	}
	testutil.Need(t, "ip", "go")
	bin := buildTundelay(t)
	b := make([]byte, 3)
	rand.Read(b)
	id := "fw" + hex.EncodeToString(b)
	w := &wan{t: t, client: id + "c", server: id + "s"}
	if out, err := exec.Command("ip", "netns", "add", w.client).CombinedOutput(); err != nil {
		t.Skipf("this machine cannot create network namespaces (ip netns add: %v: %s)", err, out)
	}
	t.Cleanup(w.teardown)
	w.ip("netns", "add", w.server)
	w.delay = exec.Command(bin, "-ns-a", "/var/run/netns/"+w.client, "-ns-b", "/var/run/netns/"+w.server,
		"-dev-a", id+"C", "-dev-b", id+"S", "-delay", "25ms", "-rate-mbit", "1000")
	out, err := w.delay.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.delay.Stderr = os.Stderr
	if err := w.delay.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("tundelay did not start")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tundelay did not say ready")
	}
	for _, a := range []struct{ ns, dev, addr string }{{w.client, id + "C", wanClientAddr}, {w.server, id + "S", wanServerAddr}} {
		w.ip("-n", a.ns, "addr", "add", a.addr+"/24", "dev", a.dev)
		w.ip("-n", a.ns, "link", "set", a.dev, "mtu", "9000", "up")
		w.ip("-n", a.ns, "link", "set", "lo", "up")
	}
	return w
}

func (w *wan) ip(args ...string) {
	w.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		w.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (w *wan) teardown() {
	if w.delay != nil && w.delay.Process != nil {
		w.delay.Process.Kill()
		w.delay.Wait()
	}
	for _, ns := range []string{w.client, w.server} {
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

// serve starts `ferry serve` in the server namespace on its address and
// waits until it serves (the test's own namespace cannot reach it).
func (w *wan) serve(mutate func(*config.Config)) *server {
	t := w.t
	t.Helper()
	s := newServer(t, func(c *config.Config) {
		c.ListenAddress = wanServerAddr
		if mutate != nil {
			mutate(c)
		}
	})
	s.wrap = []string{"ip", "netns", "exec", w.server}
	s.logs = &testutil.Buffer{}
	argv := append(append([]string{}, s.wrap...), ferryBin, "serve", "--config", s.ConfigPath)
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.logs.String(), "ferry serving") {
		select {
		case err := <-s.done:
			s.cmd = nil
			t.Fatalf("ferry serve exited (%v):\n%s", err, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry serve does not serve:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// clientIn is a ferry client that runs in the client namespace.
func (w *wan) clientIn(t *testing.T, password string) *ferryClient {
	c := newFerryClient(t, password)
	c.wrap = []string{"ip", "netns", "exec", w.client}
	return c
}
