package s3test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/minio/minio-go/v7"
)

// BigFile writes size pseudo-random bytes to dir/name a MiB at a time (the
// test's heap does not hold them) and returns the path and SHA-256.
func BigFile(t testing.TB, dir, name string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for i := int64(0); i < size; i += 1 << 20 {
		b := testutil.RandomBytes(int(min(1<<20, size-i)), uint64(i>>20)+1)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

// Sum returns the SHA-256 and size of an object, read from the gateway.
func (g *Gateway) Sum(t testing.TB, bucket, key string) (string, int64) {
	t.Helper()
	o, err := g.Client.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	h := sha256.New()
	n, err := io.Copy(h, o)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// Heap watches the live heap of the test process (server and client
// code alike) while a transfer runs: every 100 ms it collects garbage and
// reads HeapInuse, so what it reports is memory the process holds, not
// garbage waiting for the collector.
type Heap struct {
	base, peak uint64
	stop       chan struct{}
	done       sync.WaitGroup
}

// WatchHeap starts watching; Stop returns the growth over the start.
func WatchHeap() *Heap {
	h := &Heap{stop: make(chan struct{})}
	h.base = live()
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				h.peak = max(h.peak, live())
			}
		}
	}()
	return h
}

func live() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// Stop ends the watch and returns the largest growth of the live heap
// over its level at the start, in bytes.
func (h *Heap) Stop() int64 {
	close(h.stop)
	h.done.Wait()
	return int64(h.peak) - int64(h.base)
}

// DirBytes sums the sizes of the regular files under dir: the local disk
// an upload into object storage must not use.
func DirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FileSum returns the SHA-256 and size of a local file, read as a stream.
func FileSum(t testing.TB, p string) (string, int64) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}
