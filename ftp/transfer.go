package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/core"
)

// transfer is one data transfer in flight.
type transfer struct {
	verb, path string
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{}
	aborted    atomic.Bool
	bytes      atomic.Int64
	pasv       *passive
	active     netip.AddrPort
	protP      bool

	mu   sync.Mutex
	conn net.Conn
}

// abort stops the transfer from outside (ABOR, session end, shutdown).
func (x *transfer) abort() {
	x.aborted.Store(true)
	x.cancel()
	x.mu.Lock()
	if x.conn != nil {
		x.conn.Close()
	}
	x.mu.Unlock()
}

func (x *transfer) setConn(c net.Conn) {
	x.mu.Lock()
	x.conn = c
	x.mu.Unlock()
	if x.aborted.Load() {
		c.Close()
	}
}

func (x *transfer) mode() string {
	if x.pasv != nil {
		return "passive"
	}
	return "active"
}

// localError marks a failure on the server's side (disk), answered 451
// rather than 426.
type localError struct{ err error }

func (e localError) Error() string { return e.err.Error() }
func (e localError) Unwrap() error { return e.err }

// job is what a transfer does once the data connection is up: send or
// receive, then finish (close the file, publish or discard an upload).
type job struct {
	opening string // the 150 text
	send    io.Reader
	recv    io.Writer
	finish  func(x *transfer, err error) error
	ok      string // the 226 text
}

// prepare takes the data connection the client set up for one transfer,
// or replies why there is none.
func (s *session) prepare(verb, p string) *transfer {
	if s.pasv == nil && !s.active.IsValid() {
		s.reply(425, "Use PASV, EPSV, PORT or EPRT first")
		return nil
	}
	if s.tlsRequired() && !s.protP {
		s.dropData()
		s.reply(521, "Data connections must be protected on this server: send PBSZ 0 and PROT P")
		return nil
	}
	x := &transfer{verb: verb, path: p, pasv: s.pasv, active: s.active, protP: s.protP, done: make(chan struct{})}
	s.pasv, s.active = nil, netip.AddrPort{}
	if x.pasv != nil && !x.pasv.claim() {
		s.reply(425, "The passive port expired unused: send PASV or EPSV again")
		return nil
	}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	return x
}

// release frees what prepare took when the transfer does not start.
func (x *transfer) release() {
	if x.pasv != nil {
		x.pasv.release()
	}
	x.cancel()
}

// start runs the transfer in its own goroutine; the session goroutine
// keeps reading commands (ABOR, STAT) meanwhile.
func (s *session) launch(x *transfer, j job) {
	s.xmu.Lock()
	s.xfer = x
	s.xmu.Unlock()
	go s.transfer(x, j)
}

func (s *session) transfer(x *transfer, j job) {
	began := time.Now()
	var n int64
	code, msg, err := s.moveData(x, j, &n)
	if ferr := j.finish(x, err); ferr != nil && err == nil {
		err = ferr
		code, msg = 451, "Local error: "+ferr.Error()
	}
	result := "ok"
	switch {
	case x.aborted.Load():
		result = "aborted"
		code, msg = 426, "Transfer aborted"
	case err != nil:
		result = "failed"
	}
	kind := core.EventDownload
	switch x.verb {
	case "STOR", "APPE", "STOU":
		kind = core.EventUpload
	case "LIST", "NLST", "MLSD":
		// A listing is not a file event: it is logged for diagnosis only.
		if err != nil {
			s.log.Warn("listing failed", "op", x.verb, "path", x.path, "bytes", n, "result", result, "err", err.Error())
		} else {
			s.log.Debug("listing", "op", x.verb, "path", x.path, "bytes", n, "result", result)
		}
		kind = ""
	}
	if kind != "" {
		s.cn.Emit(core.Event{Kind: kind, Path: x.path, Bytes: n, Duration: time.Since(began), Result: result, Err: err,
			Attrs: []any{"op", x.verb, "mode", x.mode(), "tls", x.protP}})
	}
	x.release()
	s.reply(code, msg)
	s.xmu.Lock()
	s.xfer = nil
	s.xmu.Unlock()
	close(x.done)
}

// moveData opens the data connection, secures it, moves the bytes and
// returns the final reply.
func (s *session) moveData(x *transfer, j job, n *int64) (int, string, error) {
	var conn net.Conn
	var err error
	if x.pasv == nil {
		conn, err = s.dialActive(x.ctx, x.active)
		if err != nil {
			return 425, "Cannot open the data connection", err
		}
		x.setConn(conn)
		s.reply(150, j.opening)
	} else {
		s.reply(150, j.opening)
		conn, err = x.pasv.accept(x.ctx, s.remote.Addr(), s.log)
		if err != nil {
			return 425, "Cannot open the data connection", err
		}
		x.setConn(conn)
	}
	defer conn.Close()
	data := conn
	bc := &batchConn{Conn: conn}
	if x.protP {
		tc, err := secureData(x.ctx, bc, s.tlsCfg, s.srv.cfg.FTP.TLSSessionReuse != "off")
		if err != nil {
			if errors.Is(err, errNoReuse) {
				return 522, "TLS session of the data connection must resume the control connection's session", err
			}
			return 522, "TLS negotiation on the data connection failed", err
		}
		data = tc // abort still closes the TCP connection: a TLS close would wait to send close_notify
	}
	buf := getBuffer()
	defer putBuffer(buf)
	if j.send != nil {
		tc, isTLS := data.(*tls.Conn)
		bc.batch(isTLS)
		*n, err = pump(data, j.send, conn, buf, true, &x.bytes)
		if ferr := bc.batch(false); err == nil {
			err = ferr
		}
		if err == nil && isTLS {
			// close_notify lets the client tell the end from a cut. Every
			// byte is already sent: a client that hung up without waiting
			// for it has its file, so a failure here is no failure.
			tc.Close()
		}
	} else {
		f, isFile := j.recv.(*os.File)
		tcp, isTCP := data.(*net.TCPConn)
		if isFile && isTCP {
			*n, err = spliceIn(f, tcp, &x.bytes)
		} else {
			*n, err = pump(j.recv, data, conn, buf, false, &x.bytes)
		}
		if tc, ok := data.(*tls.Conn); ok && err == nil {
			// Answer the client's close_notify: clients that shut TLS down
			// cleanly (Python's unwrap) wait for ours.
			tc.Close()
		}
	}
	switch {
	case err == nil:
		return 226, j.ok, nil
	case errors.As(err, new(localError)):
		return 451, "Local error: " + err.Error(), err
	}
	return 426, "Data connection closed; transfer aborted", err
}

// pump copies src to dst with a large buffer, refreshing the data
// connection's deadline as data moves so that only a stalled transfer
// times out. srcLocal says which side's errors are the server's own. From
// the network it gathers at least half a buffer before writing: a TLS
// read returns one 16 KiB record, and one file write per record is slow.
func pump(dst io.Writer, src io.Reader, dc net.Conn, buf []byte, srcLocal bool, count *atomic.Int64) (int64, error) {
	var n int64
	var last time.Time
	want := 1
	if !srcLocal {
		want = len(buf) / 2
	}
	for {
		r := 0
		var rerr error
		for r < want && rerr == nil {
			if now := time.Now(); now.Sub(last) > time.Second {
				dc.SetDeadline(now.Add(dataTimeout))
				last = now
			}
			var m int
			m, rerr = src.Read(buf[r:])
			r += m
		}
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			count.Store(n)
			if werr != nil {
				return n, side(werr, !srcLocal)
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, side(rerr, srcLocal)
		}
	}
}

// spliceIn receives a cleartext upload with splice(2), socket to file
// without a copy through user space: bench/ftp.sh measured it faster than
// pump for uploads (pump stays faster for downloads, and for TLS there is
// no choice). It moves spliceChunk at a time to refresh the deadline.
func spliceIn(f *os.File, c *net.TCPConn, count *atomic.Int64) (int64, error) {
	var n int64
	for {
		c.SetDeadline(time.Now().Add(dataTimeout))
		m, err := io.CopyN(f, c, spliceChunk)
		n += m
		count.Store(n)
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, side(err, diskErrno(err))
		}
	}
}

const spliceChunk = 16 << 20

// diskErrno tells the errors of a file system from those of a socket.
func diskErrno(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EFBIG, syscall.EROFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func side(err error, local bool) error {
	if local {
		return localError{err}
	}
	return err
}

// batchConn gathers the 16 KiB records that crypto/tls writes one by one
// into large writes while a download is sending: one system call per
// record costs more than the encryption. Off during handshakes.
type batchConn struct {
	net.Conn
	buf []byte
	on  bool
}

// batchSize is the most a batchConn holds before it writes.
const batchSize = 256 << 10

func (b *batchConn) Write(p []byte) (int, error) {
	if !b.on {
		return b.Conn.Write(p)
	}
	if len(b.buf)+len(p) > batchSize {
		if err := b.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) >= batchSize {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *batchConn) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// batch turns batching on or off; turning it off writes what is held.
func (b *batchConn) batch(on bool) error {
	if on && b.buf == nil {
		b.buf = make([]byte, 0, batchSize)
	}
	b.on = on
	if on {
		return nil
	}
	return b.flush()
}

// bufSize is the copy buffer of a transfer. BenchmarkCopy and
// bench/ftp.sh measured pump against sendfile for downloads: pump won.
const bufSize = 1 << 20

var buffers = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuffer() []byte  { return *buffers.Get().(*[]byte) }
func putBuffer(b []byte) { buffers.Put(&b) }
