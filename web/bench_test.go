package web

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// benchSize is the file moved per iteration of the transfer benchmarks.
const benchSize = 64 << 20

// BenchmarkDownload measures a full HTTPS GET of a file, Go client and
// server in one process (bench/https.sh compares with nginx and curl).
func BenchmarkDownload(b *testing.B) {
	ts := startServer(b, nil)
	home := ts.addUser("bench", false)
	f, err := os.Create(filepath.Join(home, "big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, io.LimitReader(zeros{}, benchSize)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	c := ts.client()
	req, _ := http.NewRequest("GET", ts.base+"/api/v1/files/big.bin", nil)
	req.Header.Set("Authorization", "Bearer "+ts.token(c, "bench"))
	b.SetBytes(benchSize)
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != benchSize {
			b.Fatalf("got %d bytes", n)
		}
	}
}

// BenchmarkUpload measures a streamed HTTPS PUT.
func BenchmarkUpload(b *testing.B) {
	ts := startServer(b, nil)
	ts.addUser("bench", false)
	c := ts.client()
	tok := ts.token(c, "bench")
	b.SetBytes(benchSize)
	for b.Loop() {
		req, _ := http.NewRequest("PUT", ts.base+"/api/v1/files/up.bin", io.LimitReader(zeros{}, benchSize))
		req.ContentLength = benchSize
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
