package ftpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/ftp/wire"
)

// ErrBusy is returned when a command needs the control connection while a
// data transfer is still open.
var ErrBusy = errors.New("ftp: a transfer is still open on this connection")

// openData sets up a data connection (passive or active), sends the
// transfer command and returns the connection once the server has
// answered 1xx, TLS-protected when the control connection is.
func (c *Conn) openData(command string) (net.Conn, error) {
	if c.busy {
		return nil, ErrBusy
	}
	if c.cfg.Active {
		return c.openActive(command)
	}
	return c.openPassive(command)
}

func (c *Conn) peerIP() netip.Addr {
	ap, _ := netip.ParseAddrPort(c.ctrl.RemoteAddr().String())
	return ap.Addr().Unmap()
}

func (c *Conn) localIP() netip.Addr {
	ap, _ := netip.ParseAddrPort(c.ctrl.LocalAddr().String())
	return ap.Addr().Unmap()
}

// passiveAddr asks for a passive port, EPSV first and PASV when the server
// does not know EPSV. The data connection always goes to the control
// connection's peer: a PASV address pointing elsewhere would let a server
// (or whoever rewrote the reply) aim the client at a third host.
func (c *Conn) passiveAddr() (string, error) {
	if !c.noEPSV {
		rep, err := c.cmd("EPSV")
		if err != nil {
			return "", err
		}
		if rep.Code == 229 {
			return c.epsvAddr(rep)
		}
		if rep.Code < 500 {
			return "", &Error{Cmd: "EPSV", Reply: rep}
		}
		c.noEPSV = true
	}
	rep, err := c.expect("PASV", 227)
	if err != nil {
		return "", err
	}
	ap, err := wire.ParsePASV(rep.Text())
	if err != nil {
		return "", fmt.Errorf("ftp: PASV: %w", err)
	}
	return net.JoinHostPort(c.peerIP().String(), strconv.Itoa(int(ap.Port()))), nil
}

func (c *Conn) epsvAddr(rep wire.Reply) (string, error) {
	port, err := wire.ParseEPSV(rep.Text())
	if err != nil {
		return "", fmt.Errorf("ftp: EPSV: %w", err)
	}
	c.epsvOK = true
	return net.JoinHostPort(c.peerIP().String(), strconv.Itoa(int(port))), nil
}

// pipelinedPassive sends EPSV and the transfer command together, once
// EPSV has worked on this connection: the server answers them in order
// (RFC 959 section 4.2 lets a client send commands before the replies to
// earlier ones; servers read them one line at a time), and the command's
// mark comes a round trip sooner. When EPSV fails after all, the command's
// own (refusal) reply is read too, so that the next reply is in step.
func (c *Conn) pipelinedPassive(command string) (string, error) {
	if err := c.sendLines("EPSV", command); err != nil {
		return "", err
	}
	rep, err := c.read()
	if err != nil {
		return "", err
	}
	if rep.Code == 229 {
		addr, err := c.epsvAddr(rep)
		if err != nil {
			c.readFinal()
		}
		return addr, err
	}
	c.readFinal()
	return "", &Error{Cmd: "EPSV", Reply: rep}
}

// readFinal reads replies up to a final one (>= 200).
func (c *Conn) readFinal() (wire.Reply, error) {
	for {
		rep, err := c.read()
		if err != nil || rep.Code >= 200 {
			return rep, err
		}
	}
}

func (c *Conn) openPassive(command string) (net.Conn, error) {
	// Only a command that changes nothing goes out behind EPSV: should
	// EPSV fail, a server might carry out a STOR on the file (truncating
	// it) before it finds that no data connection can follow.
	v := strings.ToUpper(verb(command))
	v, _, _ = strings.Cut(v, " ")
	pipelined := c.epsvOK && !c.noEPSV && (v == "RETR" || v == "LIST" || v == "MLSD" || v == "NLST")
	var addr string
	var err error
	if pipelined {
		addr, err = c.pipelinedPassive(command)
	} else {
		addr, err = c.passiveAddr()
	}
	if err != nil {
		return nil, err
	}
	// The data connection and its TLS handshake are made while the server
	// answers the command, which saves a round trip per transfer.
	type data struct {
		conn net.Conn
		err  error
	}
	ch := make(chan data, 1)
	go func() {
		d := net.Dialer{Timeout: c.cfg.Timeout}
		dc, err := d.Dial("tcp", addr)
		if err != nil {
			ch <- data{nil, fmt.Errorf("ftp: passive data connection to %s: %w", addr, err)}
			return
		}
		if !c.tls {
			ch <- data{dc, nil}
			return
		}
		tc, err := c.handshake(dc)
		ch <- data{tc, err}
	}()
	if pipelined {
		err = c.awaitMark(command)
	} else {
		err = c.startTransfer(command)
	}
	if err != nil {
		// Refused: the server will not take the connection, whose
		// handshake would wait for the timeout.
		go func() {
			if d := <-ch; d.conn != nil {
				d.conn.Close()
			}
		}()
		return nil, err
	}
	d := <-ch
	if d.err != nil {
		c.finish()
		return nil, d.err
	}
	c.noteResumed(d.conn)
	return d.conn, nil
}

// startTransfer sends the transfer command and waits for its 1xx mark.
func (c *Conn) startTransfer(command string) error {
	if err := c.send(command); err != nil {
		return err
	}
	return c.awaitMark(command)
}

// awaitMark reads the reply to a transfer command sent: its 1xx mark.
func (c *Conn) awaitMark(command string) error {
	rep, err := c.read()
	if err != nil {
		return err
	}
	if rep.Code >= 200 {
		return &Error{Cmd: verb(command), Reply: rep}
	}
	c.busy = true
	return nil
}

// protect wraps a data connection in TLS when the control connection has
// it. The shared session cache and ServerName make the handshake resume
// the control session.
func (c *Conn) protect(dc net.Conn) (net.Conn, error) {
	if !c.tls {
		return dc, nil
	}
	tc, err := c.handshake(dc)
	if err != nil {
		c.finish()
		return nil, err
	}
	c.noteResumed(tc)
	return tc, nil
}

// handshake starts TLS on a data connection; it closes dc on failure.
func (c *Conn) handshake(dc net.Conn) (net.Conn, error) {
	tc := tls.Client(dc, c.cfg.TLS)
	tc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	if err := tc.Handshake(); err != nil {
		dc.Close()
		return nil, fmt.Errorf("ftp: TLS on the data connection: %w", err)
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// noteResumed records whether a TLS data connection resumed the control
// connection's session.
func (c *Conn) noteResumed(dc net.Conn) {
	tc, ok := dc.(*tls.Conn)
	if !ok {
		return
	}
	c.resumed = tc.ConnectionState().DidResume
	if !c.resumed {
		c.trace("*", "data connection TLS session NOT resumed")
	}
}

// DataResumed reports whether the last TLS data connection resumed the
// control connection's TLS session.
func (c *Conn) DataResumed() bool { return c.resumed }

// finish reads the final reply of a transfer after its data connection
// closed.
func (c *Conn) finish() error {
	if !c.busy {
		return nil
	}
	c.busy = false
	rep, err := c.read()
	if err != nil {
		return err
	}
	if rep.Code != 226 && rep.Code != 250 {
		return &Error{Cmd: "transfer", Reply: rep}
	}
	return nil
}

// listenActive opens the listener for active mode on a port in the
// configured range (tried from a random start, so parallel clients do not
// collide).
func (c *Conn) listenActive() (net.Listener, error) {
	host := c.localIP().String()
	if c.cfg.ActiveAddress.IsValid() && c.cfg.ActiveAddress.Unmap() != c.localIP() {
		// Behind NAT the advertised address is not ours: listen on every
		// address so the forwarded connection arrives.
		host = ""
	}
	lo, hi := c.cfg.ActivePortLow, c.cfg.ActivePortHigh
	if lo == 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("ftp: active listen: %w", err)
		}
		return ln, nil
	}
	n := hi - lo + 1
	start := rand.IntN(n)
	var last error
	for i := 0; i < n; i++ {
		p := lo + (start+i)%n
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		last = err
	}
	return nil, fmt.Errorf("ftp: active listen: no free port in %d-%d: %w", lo, hi, last)
}

func (c *Conn) openActive(command string) (net.Conn, error) {
	ln, err := c.listenActive()
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	adv := c.cfg.ActiveAddress
	if !adv.IsValid() {
		adv = c.localIP()
	}
	if err := c.announce(netip.AddrPortFrom(adv.Unmap(), port)); err != nil {
		return nil, err
	}
	if err := c.startTransfer(command); err != nil {
		return nil, err
	}
	peer := c.peerIP()
	deadline := time.Now().Add(c.cfg.Timeout)
	for {
		ln.(*net.TCPListener).SetDeadline(deadline)
		dc, err := ln.Accept()
		if err != nil {
			c.ctrl.Close()
			return nil, fmt.Errorf("ftp: waiting for the server's active data connection on port %d: %w", port, err)
		}
		from, _ := netip.ParseAddrPort(dc.RemoteAddr().String())
		if from.Addr().Unmap() != peer {
			// Not the server: someone racing for the port.
			c.trace("*", "refused data connection from "+from.String())
			dc.Close()
			continue
		}
		return c.protect(dc)
	}
}

// announce sends EPRT, or PORT when the server does not know EPRT.
func (c *Conn) announce(ap netip.AddrPort) error {
	if !c.noEPRT {
		rep, err := c.cmd("EPRT " + wire.FormatEPRT(ap))
		if err != nil {
			return err
		}
		if rep.Code == 200 {
			return nil
		}
		if rep.Code < 500 || rep.Code == 522 && ap.Addr().Is6() {
			return &Error{Cmd: "EPRT", Reply: rep}
		}
		c.noEPRT = true
	}
	arg, err := wire.FormatPORT(ap)
	if err != nil {
		return err
	}
	_, err = c.expect("PORT "+arg, 200)
	return err
}

// dataStream is an open download or upload; Close ends the data
// connection and returns the server's verdict.
type dataStream struct {
	c       *Conn
	dc      net.Conn
	idle    time.Duration
	done    bool
	written bool // an upload: Close must end it gracefully
	eof     bool // a download read to its end
}

func (s *dataStream) Read(b []byte) (int, error) {
	s.dc.SetReadDeadline(time.Now().Add(s.idle))
	n, err := s.dc.Read(b)
	if err != nil && isCleanEnd(err) {
		err = io.EOF
	}
	if err == io.EOF {
		s.eof = true
	}
	return n, err
}

func (s *dataStream) Write(b []byte) (int, error) {
	s.written = true
	s.dc.SetWriteDeadline(time.Now().Add(s.idle))
	return s.dc.Write(b)
}

func (s *dataStream) Close() error {
	if s.done {
		return nil
	}
	s.done = true
	if s.written {
		s.endUpload()
	} else if !s.eof {
		return s.abandon()
	}
	cerr := s.dc.Close()
	err := s.c.finish()
	if err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = fmt.Errorf("ftp: closing data connection: %w", cerr)
	}
	return err
}

// abandon ends a download before its end (a segment of a file, or a
// reader the caller no longer wants): it closes the data connection, takes
// the server's final reply whatever it says (426 as a rule, 226 when the
// server had sent everything already), then resynchronises the dialogue
// with NOOP so that a server that sends a second reply cannot shift the
// replies of later commands. A control connection that cannot be
// resynchronised is closed.
func (s *dataStream) abandon() error {
	s.dc.Close()
	c := s.c
	c.busy = false
	if _, err := c.read(); err != nil {
		c.ctrl.Close()
		return err
	}
	if err := c.send("NOOP"); err != nil {
		c.ctrl.Close()
		return err
	}
	for {
		rep, err := c.read()
		if err != nil {
			c.ctrl.Close()
			return err
		}
		if rep.Code == 200 {
			return nil
		}
	}
}

// endUpload signals the end of an upload (TLS close_notify, then TCP FIN)
// and waits for the server to close its side. Closing at once could
// discard data the server sent meanwhile (TLS 1.3 session tickets), and a
// socket closed with unread data resets the connection, which the server
// takes for a failed upload.
func (s *dataStream) endUpload() {
	cw, ok := s.dc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	s.dc.SetReadDeadline(time.Now().Add(s.idle))
	io.Copy(io.Discard, s.dc)
}

// isCleanEnd accepts a server that closes the TCP connection without a
// TLS close_notify; the size check after the transfer catches truncation.
func isCleanEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (c *Conn) stream(command string) (*dataStream, error) {
	dc, err := c.openData(command)
	if err != nil {
		return nil, err
	}
	c.data.Store(&dc)
	return &dataStream{c: c, dc: dc, idle: c.cfg.Timeout}, nil
}

// Retr downloads path from offset on (REST before RETR).
func (c *Conn) Retr(path string, offset int64) (io.ReadCloser, error) {
	if offset > 0 {
		if _, err := c.expect("REST "+strconv.FormatInt(offset, 10), 350); err != nil {
			return nil, err
		}
	}
	return c.stream("RETR " + path)
}

// Stor uploads path. With offset > 0 it continues a partial file: REST
// offset and STOR (RFC 3659), or APPE when the server refuses REST.
func (c *Conn) Stor(path string, offset int64) (io.WriteCloser, error) {
	if offset == 0 {
		return c.stream("STOR " + path)
	}
	rep, err := c.cmd("REST " + strconv.FormatInt(offset, 10))
	if err != nil {
		return nil, err
	}
	if rep.Code == 350 {
		return c.stream("STOR " + path)
	}
	return c.stream("APPE " + path)
}
