package client

import (
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// cutRelay forwards TCP connections to addr and cuts each one once the
// server has sent it limit bytes: a path that breaks in the middle of a
// file, in front of a real server.
type cutRelay struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func startCutRelay(t *testing.T, addr string, limit int64) *cutRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &cutRelay{ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.conns.Add(1)
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			r.wg.Add(2)
			go func() { defer r.wg.Done(); io.Copy(s, c); s.Close() }()
			go func() {
				defer r.wg.Done()
				io.Copy(c, io.LimitReader(s, limit))
				c.Close()
				s.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); r.wg.Wait() })
	return r
}

// A file cut after bytes moved is not tried again (only one cut before
// a byte moved is, docs/client.md): the user's -c continues it, and the
// pool keeps its connections.
func TestNoRetryAfterBytesMoved(t *testing.T) {
	testutil.Need(t, "nginx")
	d := startNginxDAV(t, true, false)
	u, err := url.Parse(d.url)
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.RandomBytes(8<<20, 71)
	os.WriteFile(filepath.Join(d.root, "big.bin"), data, 0o644)
	relay := startCutRelay(t, u.Host, 1<<20)
	var notes strings.Builder
	o := d.options(t, davPass)
	pool := peer{url: "dav://alice@" + relay.ln.Addr().String() + "/", o: o}.pool(t, 4)
	x := &Transfer{Pool: pool, Segments: 1, Notice: &notes}
	dst := filepath.Join(t.TempDir(), "big.bin")
	err = x.Get("/big.bin", dst)
	if ExitCode(err) != ExitIncomplete {
		t.Fatalf("download through a path cut after 1 MiB: %v (exit %d), want exit %d", err, ExitCode(err), ExitIncomplete)
	}
	if strings.Contains(notes.String(), "trying again") {
		t.Fatalf("a download cut after bytes moved was tried again: %q", notes.String())
	}
	if len(x.Files) != 1 || x.Files[0].Transferred == 0 {
		t.Fatalf("the record does not say bytes moved: %+v", x.Files)
	}
	if n := relay.conns.Load(); n > 2 {
		t.Fatalf("%d connections for one download cut once", n)
	}
}
