package ftp

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// BenchmarkCopy compares the kernel's sendfile/splice path (io.Copy
// between *os.File and *net.TCPConn) with pump's large-buffer copy, for
// downloads (file to socket) and uploads (socket to file), over loopback.
// Run: go test -run NONE -bench Copy -benchtime 20x ./ftp
func BenchmarkCopy(b *testing.B) {
	const size = 256 << 20
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, randBytes(16<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	f, _ := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	chunk := randBytes(16 << 20)
	for range size/(16<<20) - 1 {
		f.Write(chunk)
	}
	f.Close()
	pair := func(b *testing.B) (*net.TCPConn, *net.TCPConn) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		return c.(*net.TCPConn), s.(*net.TCPConn)
	}
	drain := func(c net.Conn, done chan<- int64) {
		buf := make([]byte, bufSize)
		var n int64
		for {
			r, err := c.Read(buf)
			n += int64(r)
			if err != nil {
				done <- n
				return
			}
		}
	}
	var count atomic.Int64
	for _, mode := range []string{"download-sendfile", "download-buffer", "upload-splice", "upload-buffer"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				client, server := pair(b)
				done := make(chan int64, 1)
				var err error
				switch mode {
				case "download-sendfile", "download-buffer":
					go drain(client, done)
					file, _ := os.Open(src)
					if mode == "download-sendfile" {
						_, err = io.Copy(server, file)
					} else {
						_, err = pump(server, file, server, getBuffer(), true, &count)
					}
					file.Close()
					server.Close()
				default:
					go func() {
						file, _ := os.Open(src)
						n, _ := io.Copy(client, file) // sendfile: the cheapest sender
						file.Close()
						client.Close()
						done <- n
					}()
					dst, _ := os.Create(filepath.Join(dir, "dst"))
					if mode == "upload-splice" {
						_, err = io.Copy(dst, server)
					} else {
						_, err = pump(dst, server, server, getBuffer(), false, &count)
					}
					dst.Close()
					server.Close()
				}
				if err != nil {
					b.Fatal(err)
				}
				if n := <-done; n != size {
					b.Fatalf("moved %d bytes", n)
				}
				client.Close()
			}
		})
	}
}
