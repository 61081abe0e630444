package client

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// concurrency is a Progress that counts the files moving at once.
type concurrency struct {
	now, most atomic.Int64
	mu        sync.Mutex
}

func (c *concurrency) Plan(int, int64) {}
func (c *concurrency) Done(File)       {}
func (c *concurrency) Start(string, int64, int64) Meter {
	n := c.now.Add(1)
	c.mu.Lock()
	if n > c.most.Load() {
		c.most.Store(n)
	}
	c.mu.Unlock()
	return &finishOnce{c: c}
}

type finishOnce struct {
	c    *concurrency
	once sync.Once
}

func (f *finishOnce) Add(int64) {}
func (f *finishOnce) Finish()   { f.once.Do(func() { f.c.now.Add(-1) }) }

// TestSharedSFTP: over OpenSSH, a pool of 2 connections carries 16 files
// at once (SFTP requests of several files interleave on one session),
// both ways, byte-exact, without opening a third connection.
func TestSharedSFTP(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	base := t.TempDir()
	p := peer{url: sftpURL(s.Port, "/"), o: o}
	src := filepath.Join(t.TempDir(), "src")
	want := map[string][]byte{}
	for i := range 48 {
		rel := fmt.Sprintf("d%d/f%02d.bin", i%3, i)
		want[rel] = testutil.RandomBytes(64<<10+i*4099, uint64(i))
		os.MkdirAll(filepath.Join(src, fmt.Sprintf("d%d", i%3)), 0o755)
		os.WriteFile(filepath.Join(src, filepath.FromSlash(rel)), want[rel], 0o644)
	}
	pool := p.pool(t, 2)
	for _, up := range []bool{true, false} {
		prog := &concurrency{}
		x := &Transfer{Pool: pool, Recursive: true, Parallel: 16, Progress: prog}
		var err error
		dst := filepath.Join(t.TempDir(), "down")
		if up {
			err = x.Put(src, path.Join(base, "up"))
		} else {
			err = x.Get(path.Join(base, "up"), dst)
		}
		if err != nil {
			t.Fatalf("up %v: %v", up, err)
		}
		if len(x.Files) != len(want) {
			t.Fatalf("up %v: %d files moved, want %d", up, len(x.Files), len(want))
		}
		for rel, b := range want {
			if up {
				sameBytes(t, filepath.Join(base, "up", filepath.FromSlash(rel)), b)
			} else {
				sameBytes(t, filepath.Join(dst, filepath.FromSlash(rel)), b)
			}
		}
		if m := prog.most.Load(); m <= 2 {
			t.Fatalf("up %v: at most %d files moved at once over 2 connections, want more", up, m)
		}
	}
	pool.mu.Lock()
	open := pool.open
	pool.mu.Unlock()
	if open != 2 {
		t.Fatalf("the pool opened %d connections, want its size, 2", open)
	}
	// The second session is a channel on the first's SSH connection: one
	// TCP stream, one login.
	fam := pool.first.(*sftpConn).fam
	fam.mu.Lock()
	links := len(fam.links)
	fam.mu.Unlock()
	if links != 1 {
		t.Fatalf("2 sessions on %d SSH connections, want 1", links)
	}
	if n := sshdConnections(t, s.Port); n != 1 {
		t.Fatalf("sshd sees %d TCP connections from the pool, want 1", n)
	}
}

// sshdConnections counts the established TCP connections to port on
// this machine's loopback (/proc/net/tcp, state 01).
func sshdConnections(t *testing.T, port int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	want := fmt.Sprintf(":%04X", port)
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[2], want) && f[3] == "01" {
			n++
		}
	}
	return n
}
