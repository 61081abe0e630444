package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestDigest: the digest answers for bytes that came whole and in order
// from offset 0, and only for them.
func TestDigest(t *testing.T) {
	data := []byte("0123456789abcdef")
	var d Digest
	d.At(0, data[:5])
	d.At(5, data[5:])
	if got := d.Sum(int64(len(data))); got != sum(data) {
		t.Errorf("in order: %q, want %q", got, sum(data))
	}
	if got := d.Sum(int64(len(data)) + 1); got != "" {
		t.Errorf("a longer file: %q, want none", got)
	}
	var gap Digest
	gap.At(0, data[:5])
	gap.At(6, data[6:])
	if got := gap.Sum(int64(len(data))); got != "" {
		t.Errorf("with a gap: %q, want none", got)
	}
	var resumed Digest
	resumed.At(5, data[5:])
	if got := resumed.Sum(int64(len(data)) - 5); got != "" {
		t.Errorf("not from offset 0: %q, want none", got)
	}
	var empty Digest
	if got := empty.Sum(0); got != sum(nil) {
		t.Errorf("empty file: %q, want %q", got, sum(nil))
	}
	var off *Digest
	off.At(0, data)
	if off.Sum(int64(len(data))) != "" {
		t.Error("a nil digest answered")
	}
}

// TestTransferDigest: Send, Receive (which gives up splice(2) to see the
// bytes) and Source digest the file that passed; a source read from an
// offset does not.
func TestTransferDigest(t *testing.T) {
	data := random(t, 3<<20+17)
	want := sum(data)
	t.Run("receive", func(t *testing.T) {
		f, err := vfs.NewLocal(filepath.Join(t.TempDir(), "home"), false)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		client, server := tcpPair(t)
		go func() { client.Write(data); client.CloseWrite() }()
		up, _ := f.Create("/up")
		defer up.Abort()
		tr := &Transfer{Deadline: server.SetDeadline, Hash: true}
		n, err := tr.Receive(up, server)
		if err != nil || tr.Sum(n) != want {
			t.Fatalf("Receive = %d, %v; sum %q, want %q", n, err, tr.Sum(n), want)
		}
	})
	t.Run("send", func(t *testing.T) {
		var out bytes.Buffer
		tr := &Transfer{Hash: true}
		n, err := tr.Send(&out, bytes.NewReader(data))
		if err != nil || tr.Sum(n) != want {
			t.Fatalf("Send = %d, %v; sum %q, want %q", n, err, tr.Sum(n), want)
		}
		if off := (&Transfer{}); off.Sum(0) != "" {
			t.Error("a transfer without Hash gave a digest")
		}
	})
	t.Run("source", func(t *testing.T) {
		tr := &Transfer{Hash: true}
		src := tr.Source(bytes.NewReader(data))
		// http.ServeContent's size probe, then the body.
		src.Seek(0, io.SeekEnd)
		src.Seek(0, io.SeekStart)
		io.Copy(io.Discard, src)
		if got := tr.Sum(int64(len(data))); got != want {
			t.Errorf("whole: %q, want %q", got, want)
		}
		tr = &Transfer{Hash: true}
		src = tr.Source(bytes.NewReader(data))
		src.Seek(100, io.SeekStart)
		io.Copy(io.Discard, src)
		if got := tr.Sum(int64(len(data))); got != "" {
			t.Errorf("a range from 100: %q, want none", got)
		}
	})
}

// BenchmarkReceiveDigest measures what the audit log's digest costs an
// upload over loopback TCP into the local disk: splice(2) without it, the
// buffered copy and SHA-256 with it.
func BenchmarkReceiveDigest(b *testing.B) {
	const size = 256 << 20
	chunk := make([]byte, 1<<20)
	for _, hash := range []bool{false, true} {
		name := "splice"
		if hash {
			name = "sha256"
		}
		b.Run(name, func(b *testing.B) {
			f, err := vfs.NewLocal(filepath.Join(b.TempDir(), "home"), false)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.SetBytes(size)
			for b.Loop() {
				client, server := tcpPair(b)
				go func() {
					for range size / len(chunk) {
						client.Write(chunk)
					}
					client.CloseWrite()
				}()
				up, _ := f.Create("/up")
				tr := &Transfer{Stall: time.Minute, Deadline: server.SetDeadline, Hash: hash}
				if _, err := tr.Receive(up, server); err != nil {
					b.Fatal(err)
				}
				up.Abort()
				client.Close()
				server.Close()
			}
		})
	}
}
