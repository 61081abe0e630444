package ftp

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// BenchmarkCopy compares the kernel's sendfile path (io.Copy from an
// *os.File to a *net.TCPConn) with core.Transfer's large-buffer copy for
// downloads (file to socket), and core.Transfer's splice path (the local
// upload's io.ReaderFrom) with its buffered copy for uploads (socket to
// file), over loopback, through the vfs local backend as transfers are.
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
		buf := make([]byte, core.BufSize)
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
	fsys, err := vfs.NewLocal(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	defer fsys.Close()
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
					if mode == "download-sendfile" {
						file, _ := os.Open(src)
						_, err = io.Copy(server, file)
						file.Close()
					} else {
						file, _ := fsys.Open("/src")
						_, err = (&core.Transfer{}).Send(server, file)
						file.Close()
					}
					server.Close()
				default:
					go func() {
						file, _ := os.Open(src)
						n, _ := io.Copy(client, file) // sendfile: the cheapest sender
						file.Close()
						client.Close()
						done <- n
					}()
					up, _ := fsys.Create("/dst")
					if mode == "upload-splice" {
						_, err = (&core.Transfer{}).Receive(up, server)
					} else {
						_, err = (&core.Transfer{}).Receive(struct{ io.Writer }{up}, server) // hides io.ReaderFrom
					}
					up.Commit()
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
