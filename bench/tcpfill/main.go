// Command tcpfill measures what a path carries: N TCP streams from a
// server that writes as fast as it can, for a duration, without
// encryption or files. bench/wan.sh runs it across its delay link so that
// "of the link" compares with what TCP with this kernel's buffers really
// gets, not only the link's nominal rate.
//
//	tcpfill -listen ADDR                  # the sending side
//	tcpfill -connect ADDR -n 4 -d 5s      # prints MB/s (10^6 bytes/s)
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "", "send to whoever connects, on ADDR")
	connect := flag.String("connect", "", "receive from ADDR")
	n := flag.Int("n", 4, "streams")
	d := flag.Duration("d", 5*time.Second, "how long")
	flag.Parse()
	switch {
	case *listen != "":
		fmt.Fprintln(os.Stderr, "tcpfill:", serve(*listen))
		os.Exit(1)
	case *connect != "":
		mbs, err := receive(*connect, *n, *d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tcpfill:", err)
			os.Exit(1)
		}
		fmt.Printf("%.1f\n", mbs)
	default:
		flag.Usage()
		os.Exit(2)
	}
}

// serve sends to every connection until it fails to listen or accept.
func serve(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			for {
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
	}
}

// receive counts what n streams bring in d, from the first byte of the
// first stream on (the connects are not counted).
func receive(addr string, n int, d time.Duration) (float64, error) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 0, err
		}
		conns[i] = c
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetReadDeadline(start.Add(d))
			k, _ := io.Copy(io.Discard, c)
			total.Add(k)
		}()
	}
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds() / 1e6, nil
}
