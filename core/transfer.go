package core

// The one path a file's bytes take between a client's connection and
// storage, whatever the protocol: one buffer pool, the stall rule, one
// place where bytes are counted, the splice(2) fast path for uploads and
// batched TLS writes for downloads.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// ErrPeer marks a transfer that failed on the client's side (the
// connection closed, reset or stalled) rather than in storage, whose
// errors are the vfs errors.
var ErrPeer = errors.New("the client's connection failed")

// ErrStall is a transfer cut because no byte moved for limits.stall_timeout.
var ErrStall = fmt.Errorf("no data moved within limits.stall_timeout: %w", ErrPeer)

// Transfer moves one file between a client's connection and storage.
type Transfer struct {
	// Stall cuts the transfer when no byte moves for this long
	// (limits.stall_timeout); 0 turns the rule off.
	Stall time.Duration
	// Deadline sets the deadline of the connection's side of the copy,
	// such as net.Conn.SetDeadline or a ResponseController's
	// SetReadDeadline; the stall rule pushes it ahead as data moves.
	Deadline func(time.Time) error
	// Meter is told of every chunk moved, on the transfer's goroutine: the
	// one place where bytes are counted (logs, progress, and later
	// metering or bandwidth limits).
	Meter func(n int64)
	// Rate, when set (Conn.Rate), waits after every chunk moved until the
	// bandwidth limits allow it; uploads then take the buffered copy, whose
	// chunks are at most a buffer, not splice(2)'s 16 MiB.
	Rate func(n int64)
	// Hash computes the SHA-256 of the bytes moved, for Sum. Set it only
	// when the transfer starts at the file's first byte (no resume, no
	// append, no range), and only when Conn.Digests says a sink wants it:
	// it costs an upload the splice(2) path. BenchmarkReceiveDigest (256
	// MiB over loopback into the disk, 2 shared cores) measured 213 MB/s
	// with splice against 151 MB/s with the digest in one run and 254
	// against 304 in another: SHA-256 alone runs at 395 MB/s per core here,
	// so the digest costs at most about a third of a core per upload.
	Hash bool
	// Progress, when set (Conn.Progress), counts the bytes moved for
	// `ferry status`; the caller ends it.
	Progress *Progress

	pushed time.Time
	digest Digest
	moved  int64 // bytes given to the digest, its next offset
}

// Sum is the hex SHA-256 of the file when Hash was set and the bytes
// moved are exactly the file's first size bytes in order, that is the
// whole file when size is its length; otherwise "".
func (t *Transfer) Sum(size int64) string {
	if !t.Hash {
		return ""
	}
	return t.digest.Sum(size)
}

// hash adds p, the next bytes moved, to the digest.
func (t *Transfer) hash(p []byte) {
	if t.Hash {
		t.digest.At(t.moved, p)
		t.moved += int64(len(p))
	}
}

// push moves the connection's deadline Stall ahead, at most once a second
// or a quarter of Stall (a deadline costs a timer update, and that much
// is nothing to a stall).
func (t *Transfer) push() {
	if t.Stall <= 0 || t.Deadline == nil {
		return
	}
	if now := time.Now(); now.Sub(t.pushed) >= min(time.Second, t.Stall/4) {
		t.Deadline(now.Add(t.Stall))
		t.pushed = now
	}
}

func (t *Transfer) meter(n int64) {
	if t.Meter != nil && n > 0 {
		t.Meter(n)
	}
	t.Progress.Add(n)
	if t.Rate != nil && n > 0 {
		t.Rate(n)
	}
}

// peerErr marks an error of the client's connection; a deadline that
// expired is the stall rule.
func peerErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrStall, err)
	}
	return fmt.Errorf("%w: %w", ErrPeer, err)
}

// BufSize is the copy buffer of a transfer. BenchmarkCopy (ftp) and
// bench/ftp.sh measured this buffered copy against sendfile(2) for
// downloads over loopback: the buffer won (1.9 against 1.6 GB/s).
const BufSize = 1 << 20

// sendChunk bounds one write to the client: the deadline is pushed before
// each, so a client that takes 256 KiB in less than the stall timeout
// (4.4 KB/s at the default 60 s) is moving, not stalled. A larger write
// could not be resumed after its deadline: a TLS connection is broken by
// a write that times out.
const sendChunk = 256 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, BufSize); return &b }}

// Buffer lends a BufSize buffer from the pool that every transfer shares;
// give it back with PutBuffer.
func Buffer() *[]byte { return buffers.Get().(*[]byte) }

// PutBuffer returns a buffer from Buffer.
func PutBuffer(b *[]byte) { buffers.Put(b) }

// Send copies a download from storage (src) to the client (dst). Errors
// of src are returned as they are (vfs errors); those of dst are ErrPeer.
func (t *Transfer) Send(dst io.Writer, src io.Reader) (int64, error) {
	bp := Buffer()
	defer PutBuffer(bp)
	buf := *bp
	var n int64
	for {
		r, rerr := src.Read(buf)
		for w := 0; w < r; {
			t.push()
			m, err := dst.Write(buf[w:min(r, w+sendChunk)])
			t.hash(buf[w : w+m])
			w += m
			n += int64(m)
			t.meter(int64(m))
			if err != nil {
				return n, peerErr(err)
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// Receive copies an upload from the client (src) to storage (dst).
// Errors of src are ErrPeer; those of dst are returned as they are.
//
// From a TCP socket into a dst that is an io.ReaderFrom (the local
// backend's upload) the bytes move with splice(2), without a copy through
// user space: bench/ftp.sh measured it faster than the buffered copy for
// cleartext FTP uploads (BenchmarkCopy: 660 against 600 MB/s). Otherwise
// the copy gathers at least half a buffer before each write: a TLS read
// returns one 16 KiB record, and a disk write per record is slow.
func (t *Transfer) Receive(dst io.Writer, src io.Reader) (int64, error) {
	if rf, ok := dst.(io.ReaderFrom); ok && !t.Hash && t.Rate == nil {
		if tc, ok := src.(*net.TCPConn); ok {
			return t.splice(rf, tc)
		}
	}
	bp := Buffer()
	defer PutBuffer(bp)
	buf := *bp
	var n int64
	for {
		r := 0
		var rerr error
		for r < len(buf)/2 && rerr == nil {
			t.push()
			var m int
			m, rerr = src.Read(buf[r:])
			r += m
		}
		if r > 0 {
			w, err := dst.Write(buf[:r])
			t.hash(buf[:w])
			n += int64(w)
			t.meter(int64(w))
			if err != nil {
				return n, err
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, peerErr(rerr)
		}
	}
}

// spliceChunk is what one ReadFrom call may move; the deadline is pushed
// between calls. A call that hits the deadline after moving bytes was not
// stalled and is followed by the next.
const spliceChunk = 16 << 20

func (t *Transfer) splice(dst io.ReaderFrom, src *net.TCPConn) (int64, error) {
	var n int64
	for {
		t.pushed = time.Time{}
		t.push()
		m, err := dst.ReadFrom(&io.LimitedReader{R: src, N: spliceChunk})
		n += m
		t.meter(m)
		switch {
		case err == nil && m < spliceChunk:
			return n, nil // the client's end of the stream
		case err == nil:
		case errors.Is(err, vfs.ErrIO):
			return n, err // the storage failed (the upload remembers it)
		case m > 0 && errors.Is(err, os.ErrDeadlineExceeded):
		default:
			return n, peerErr(err)
		}
	}
}

// drainTime bounds Drain.
const drainTime = 10 * time.Second

// Drain reads and drops what the client still sends after storage failed
// (a full disk), until its end of stream or for drainTime. A connection
// closed with data unread is reset, and a client that is still sending
// (curl, over FTP and HTTP alike) then reports the reset instead of
// reading the answer that says why (452, 507).
func (t *Transfer) Drain(src io.Reader) {
	if t.Deadline != nil {
		t.Deadline(time.Now().Add(drainTime))
	}
	bp := Buffer()
	defer PutBuffer(bp)
	for {
		if _, err := src.Read(*bp); err != nil {
			return
		}
	}
}

// Source wraps a download that something else copies, such as
// http.ServeContent: each read pushes the deadline and is metered.
func (t *Transfer) Source(r io.ReadSeeker) io.ReadSeeker { return &source{t: t, r: r} }

type source struct {
	t *Transfer
	r io.ReadSeeker
}

func (s *source) Read(b []byte) (int, error) {
	s.t.push()
	n, err := s.r.Read(b)
	s.t.meter(int64(n))
	s.t.hash(b[:n])
	return n, err
}

// Seek restarts the digest at the file's start (http.ServeContent seeks
// to the end for the size and back); elsewhere the digest is given up.
func (s *source) Seek(off int64, whence int) (int64, error) {
	pos, err := s.r.Seek(off, whence)
	switch {
	case pos == 0 && err == nil:
		s.t.digest.Restart()
		s.t.moved = 0
	case whence == io.SeekEnd && off == 0 && err == nil:
		// only the size is asked; ServeContent seeks back before reading
	default:
		s.t.moved = -1 // the next bytes are not at offset 0 onwards
	}
	return pos, err
}

// BatchConn gathers the records crypto/tls writes one by one (16 KiB
// each) into writes of up to batchSize while batching is on: a system call
// per record costs more than the encryption. Put it under a TLS connection
// and turn batching on around a download's body only (never during a
// handshake, whose messages must go out when written). It is safe for
// concurrent use: crypto/tls may write an alert from a reading goroutine.
type BatchConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
	on  bool
}

// batchSize is the most a BatchConn holds before it writes: 16 records.
const batchSize = 256 << 10

func (b *BatchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
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

func (b *BatchConn) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Batch turns batching on or off; turning it off writes what is held.
func (b *BatchConn) Batch(on bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if on && b.buf == nil {
		b.buf = make([]byte, 0, batchSize)
	}
	b.on = on
	if on {
		return nil
	}
	return b.flush()
}

// BatchListener wraps every connection ln accepts in a BatchConn, for a
// TLS server built on ln (an HTTPS server's listener).
func BatchListener(ln net.Listener) net.Listener { return batchListener{ln} }

type batchListener struct{ net.Listener }

func (l batchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &BatchConn{Conn: c}, nil
}
