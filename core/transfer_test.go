package core

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// writer and reader hide every other method: the buffered paths.
type (
	writer struct{ io.Writer }
	reader struct{ io.Reader }
)

// TestSendReceive moves bytes both ways through the buffered paths and
// the splice path (a local upload from a TCP socket), counting each byte
// once.
func TestSendReceive(t *testing.T) {
	data := random(t, 3<<20+17)
	for _, tc := range []struct {
		name   string
		splice bool
	}{{"receive-splice", true}, {"receive-buffered", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := vfs.NewLocal(filepath.Join(t.TempDir(), "home"), false)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			client, server := tcpPair(t)
			go func() { client.Write(data); client.CloseWrite() }()
			up, _ := f.Create("/up")
			var metered atomic.Int64
			tr := &Transfer{Stall: 5 * time.Second, Deadline: server.SetDeadline, Meter: func(n int64) { metered.Add(n) }}
			var n int64
			if tc.splice {
				n, err = tr.Receive(up, server)
			} else {
				n, err = tr.Receive(writer{up}, reader{server})
			}
			if err != nil || n != int64(len(data)) || metered.Load() != n {
				t.Fatalf("Receive = %d, %v; metered %d; want %d", n, err, metered.Load(), len(data))
			}
			if err := up.Commit(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(vfstest.Get(t, f, "/up"), data) {
				t.Fatal("received bytes differ")
			}
		})
	}
	t.Run("send", func(t *testing.T) {
		m := vfs.NewMemory(false)
		vfstest.Put(t, m, "/f", data)
		src, _ := m.Open("/f")
		client, server := tcpPair(t)
		got := make(chan []byte, 1)
		go func() { b, _ := io.ReadAll(client); got <- b }()
		var metered int64
		tr := &Transfer{Stall: 5 * time.Second, Deadline: server.SetDeadline, Meter: func(n int64) { metered += n }}
		n, err := tr.Send(server, src)
		server.Close()
		if err != nil || n != int64(len(data)) || metered != n {
			t.Fatalf("Send = %d, %v; metered %d", n, err, metered)
		}
		if !bytes.Equal(<-got, data) {
			t.Fatal("sent bytes differ")
		}
	})
}

// TestStall: a client that stops sending is cut after Stall with
// ErrStall; one that trickles bytes slower than a chunk per Stall but
// never stops is not, on the buffered path and the splice path alike.
func TestStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	for _, splice := range []bool{false, true} {
		f, err := vfs.NewLocal(filepath.Join(t.TempDir(), "home"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		receive := func(server *net.TCPConn) (int64, error) {
			up, _ := f.Create("/x")
			defer up.Abort()
			tr := &Transfer{Stall: stall, Deadline: server.SetDeadline}
			if splice {
				return tr.Receive(up, server)
			}
			return tr.Receive(writer{up}, reader{server})
		}

		client, server := tcpPair(t)
		client.Write([]byte("some bytes, then silence"))
		start := time.Now()
		_, err = receive(server)
		if !errors.Is(err, ErrStall) || !errors.Is(err, ErrPeer) {
			t.Errorf("splice=%v: a silent client: %v, want ErrStall", splice, err)
		}
		if d := time.Since(start); d < stall || d > 10*stall {
			t.Errorf("splice=%v: a silent client was cut after %v, stall is %v", splice, d, stall)
		}

		client, server = tcpPair(t)
		go func(c *net.TCPConn) {
			for range 12 { // 1.2 s: four stall periods
				c.Write([]byte("x"))
				time.Sleep(100 * time.Millisecond)
			}
			c.CloseWrite()
		}(client)
		if n, err := receive(server); err != nil || n != 12 {
			t.Errorf("splice=%v: a slow but moving client: %d bytes, %v", splice, n, err)
		}
	}
}

// TestStorageErrors: a failed write of storage is returned as the storage
// said it (ErrNoSpace), not as the client's fault, on both upload paths.
func TestStorageErrors(t *testing.T) {
	data := random(t, 2<<20)
	m := vfs.NewMemory(false)
	m.SetCapacity(1 << 20)
	up, _ := m.Create("/f")
	client, server := tcpPair(t)
	go func(c net.Conn) { c.Write(data); c.Close() }(client)
	_, err := (&Transfer{}).Receive(up, server)
	if !errors.Is(err, vfs.ErrNoSpace) || errors.Is(err, ErrPeer) {
		t.Errorf("buffered upload onto a full store: %v", err)
	}
	if err := up.Commit(); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("Commit after the failure: %v", err)
	}

	mnt := testutil.Tmpfs(t, "1m")
	f, err := vfs.NewLocal(filepath.Join(mnt, "home"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	up, _ = f.Create("/f")
	client, server = tcpPair(t)
	go func(c net.Conn) { c.Write(data); c.Close() }(client)
	_, err = (&Transfer{}).Receive(up, server) // splice
	if !errors.Is(err, vfs.ErrNoSpace) || errors.Is(err, ErrPeer) {
		t.Errorf("spliced upload onto a full disk: %v", err)
	}
	if err := up.Commit(); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("Commit after the failure: %v", err)
	}
}

// countConn counts the writes that reach the connection.
type countConn struct {
	net.Conn
	writes int
	bytes  int
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes++
	c.bytes += len(p)
	return len(p), nil
}

// TestBatchConn: records written while batching is on leave in writes of
// up to batchSize; turning it off sends what is held; off, every write
// goes through at once.
func TestBatchConn(t *testing.T) {
	cc := &countConn{}
	b := &BatchConn{Conn: cc}
	record := make([]byte, 16<<10)
	b.Write(record)
	if cc.writes != 1 {
		t.Fatalf("a write with batching off was held")
	}
	b.Batch(true)
	for range 40 {
		b.Write(record)
	}
	if cc.writes != 1+2 {
		t.Errorf("40 records with batching on: %d writes, want 2 of 256 KiB so far", cc.writes-1)
	}
	if err := b.Batch(false); err != nil {
		t.Fatal(err)
	}
	if cc.writes != 1+3 || cc.bytes != 41*len(record) {
		t.Errorf("after Batch(false): %d writes, %d bytes", cc.writes, cc.bytes)
	}
}

// TestSource: a download copied by someone else pushes the deadline and
// is metered.
func TestSource(t *testing.T) {
	var pushes int
	var metered int64
	tr := &Transfer{Stall: time.Minute, Deadline: func(time.Time) error { pushes++; return nil }, Meter: func(n int64) { metered += n }}
	src := tr.Source(bytes.NewReader(make([]byte, 1000)))
	if _, err := src.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, _ := io.Copy(io.Discard, src); n != 900 || metered != 900 || pushes == 0 {
		t.Errorf("copied %d, metered %d, %d deadline pushes", n, metered, pushes)
	}
}

// TestDrain: after storage failed, the rest of the client's data is taken,
// so the client's sending ends normally and it can read the answer.
func TestDrain(t *testing.T) {
	client, server := tcpPair(t)
	sent := make(chan error, 1)
	go func() {
		_, err := client.Write(make([]byte, 8<<20))
		client.CloseWrite()
		sent <- err
	}()
	(&Transfer{Deadline: server.SetDeadline}).Drain(server)
	server.Close()
	if err := <-sent; err != nil {
		t.Fatalf("the client could not finish sending: %v", err)
	}
}
