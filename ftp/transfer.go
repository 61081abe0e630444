package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
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
	sum        string // the file's SHA-256 when it moved whole

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

// job is what a transfer does once the data connection is up: send or
// receive, then finish (close the file, publish or discard an upload).
type job struct {
	opening string // the 150 text
	send    io.Reader
	recv    vfs.Upload
	whole   bool // the transfer starts at the file's first byte (no REST, no APPE)
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
		code, msg = s.fsReply(ferr)
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
		s.cn.Emit(core.Event{Kind: kind, Path: x.path, Bytes: n, Duration: time.Since(began), Result: result, Err: err, SHA256: x.sum,
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
		conn, err = x.pasv.accept(x.ctx)
		if err != nil {
			return 425, "Cannot open the data connection", err
		}
		x.setConn(conn)
	}
	defer conn.Close()
	data := conn
	bc := &core.BatchConn{Conn: conn}
	if x.protP {
		tc, err := s.secureData(x.ctx, bc)
		if err != nil {
			// Either a client that does not resume (or resumes a sibling's
			// session under "connection") or someone racing for the port.
			s.log.Warn("protected data connection refused", "tls_session_reuse", s.srv.cfg.FTP.TLSSessionReuse, "from", addrOf(conn.RemoteAddr()).String(), "err", err.Error())
		}
		switch {
		case errors.Is(err, errNoResume):
			return 522, "TLS session of the data connection must resume the TLS session of your control connection (ftp.tls_session_reuse)", err
		case errors.Is(err, errOtherSession), errors.Is(err, errOtherUser):
			return 522, "TLS session of the data connection was not issued to this login (ftp.tls_session_reuse = " + s.srv.cfg.FTP.TLSSessionReuse + ")", err
		case err != nil:
			return 522, "TLS negotiation on the data connection failed", err
		}
		data = tc // abort still closes the TCP connection: a TLS close would wait to send close_notify
	}
	t := &core.Transfer{
		Stall:    s.srv.cfg.Limits.StallTimeout.Duration,
		Deadline: conn.SetDeadline,
		Meter:    func(m int64) { x.bytes.Add(m) },
		Hash:     j.whole && s.cn.Digests(),
	}
	dir := core.Up
	if j.send != nil {
		dir = core.Down
	}
	t.Rate = s.cn.Rate(dir)
	switch x.verb {
	case "LIST", "NLST", "MLSD":
	default:
		t.Progress = s.cn.Progress(dir, x.path)
		defer t.Progress.Done()
	}
	defer func() { x.sum = t.Sum(*n) }()
	if j.send != nil {
		tc, isTLS := data.(*tls.Conn)
		bc.Batch(isTLS)
		*n, err = t.Send(data, j.send)
		if ferr := bc.Batch(false); err == nil && ferr != nil {
			err = fmt.Errorf("%w: %w", core.ErrPeer, ferr)
		}
		if err == nil && isTLS {
			// close_notify lets the client tell the end from a cut. Every
			// byte is already sent: a client that hung up without waiting
			// for it has its file, so a failure here is no failure.
			tc.Close()
		}
	} else {
		// A cleartext upload into the local disk moves with splice(2):
		// core.Transfer finds the upload's io.ReaderFrom.
		*n, err = t.Receive(j.recv, data)
		if err != nil && !errors.Is(err, core.ErrPeer) {
			t.Drain(data) // so that the client reads the 452
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
	case errors.Is(err, core.ErrStall):
		return 426, "Data connection stalled; transfer aborted", err
	case errors.Is(err, core.ErrPeer):
		return 426, "Data connection closed; transfer aborted", err
	}
	code, msg := s.fsReply(err)
	return code, msg, err
}
