package ftpc

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/ftp/wire"
)

// Security is how a connection uses TLS.
type Security int

const (
	// Plain never starts TLS.
	Plain Security = iota
	// Opportunistic starts TLS with AUTH TLS when FEAT lists it.
	Opportunistic
	// Explicit requires AUTH TLS to succeed.
	Explicit
	// Implicit speaks TLS from the first byte.
	Implicit
)

// Config describes one connection.
type Config struct {
	// Addr is the server's host:port.
	Addr     string
	Security Security
	// TLS is used for the control and every data connection. It must set
	// ServerName; a ClientSessionCache is added when missing, since data
	// connections resume the control connection's session through it.
	TLS *tls.Config
	// Active makes the server connect to the client for data.
	Active bool
	// ActiveAddress is the address advertised in EPRT/PORT; invalid means
	// the control connection's local address.
	ActiveAddress netip.Addr
	// ActivePortLow and ActivePortHigh bound the listening ports in
	// active mode; zero means any free port.
	ActivePortLow, ActivePortHigh int
	// Timeout bounds connecting and each wait for a reply or a data
	// connection; data transfers themselves are bounded per read/write.
	Timeout time.Duration
	// Trace receives the dialogue; the argument of PASS is hidden.
	Trace io.Writer
}

// Conn is a logged-in control connection.
type Conn struct {
	cfg     Config
	ctrl    net.Conn
	r       *bufio.Reader
	tls     bool
	feat    map[string]string
	noEPSV  bool
	epsvOK  bool // EPSV has worked: it goes out with the transfer command
	noEPRT  bool
	busy    bool // a data transfer is open
	resumed bool // the last TLS data connection resumed the session
	rtt     time.Duration
	data    atomic.Pointer[net.Conn] // the last data connection, for Abort
	// How Hash asks (hash.go): the algorithm, the older command if HASH
	// is not offered, or that the server offers no hash.
	hashAlgo, hashVerb string
	noHash             bool
}

// Error is a failure reply from the server.
type Error struct {
	Cmd   string // the command, without its argument for PASS
	Reply wire.Reply
}

func (e *Error) Error() string { return fmt.Sprintf("ftp: %s: %s", e.Cmd, e.Reply.Error()) }

// Code returns the reply code of an *Error in err's chain, or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Reply.Code
	}
	return 0
}

// ErrTLSRequired is returned when Explicit security meets a server that
// refuses AUTH TLS.
var ErrTLSRequired = errors.New("ftp: the server does not offer TLS (AUTH TLS refused)")

// Dial connects, reads the greeting and negotiates TLS as cfg asks. The
// caller then calls Login.
func Dial(cfg Config) (*Conn, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Security != Plain {
		if cfg.TLS == nil || cfg.TLS.ServerName == "" {
			return nil, errors.New("ftp: TLS needs a tls.Config with ServerName")
		}
		cfg.TLS = cfg.TLS.Clone()
		if cfg.TLS.ClientSessionCache == nil {
			cfg.TLS.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		}
	}
	d := net.Dialer{Timeout: cfg.Timeout}
	start := time.Now()
	nc, err := d.Dial("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ftp: connect %s: %w", cfg.Addr, err)
	}
	c := &Conn{cfg: cfg, ctrl: nc, r: bufio.NewReader(nc), rtt: time.Since(start)}
	if cfg.Security == Implicit {
		if err := c.startTLS(); err != nil {
			nc.Close()
			return nil, err
		}
	}
	greet, err := c.read()
	if err != nil {
		c.ctrl.Close()
		return nil, fmt.Errorf("ftp: greeting from %s: %w", cfg.Addr, err)
	}
	if greet.Code != 220 {
		c.ctrl.Close()
		return nil, &Error{Cmd: "connect", Reply: greet}
	}
	if err := c.negotiate(); err != nil {
		c.ctrl.Close()
		return nil, err
	}
	return c, nil
}

// negotiate reads FEAT and upgrades to TLS when asked.
func (c *Conn) negotiate() error {
	c.readFeat()
	switch c.cfg.Security {
	case Opportunistic:
		if _, ok := c.feat["AUTH"]; !ok || !strings.Contains(strings.ToUpper(c.feat["AUTH"]), "TLS") {
			return nil
		}
	case Explicit:
	default:
		return nil
	}
	rep, err := c.cmd("AUTH TLS")
	if err != nil {
		return err
	}
	if rep.Code != 234 {
		return fmt.Errorf("%w: %s", ErrTLSRequired, rep.Error())
	}
	if err := c.startTLS(); err != nil {
		return err
	}
	// RFC 4217: features may differ once protected.
	c.readFeat()
	return nil
}

func (c *Conn) readFeat() {
	c.feat = map[string]string{}
	rep, err := c.cmd("FEAT")
	if err != nil || rep.Code != 211 || len(rep.Lines) < 2 {
		return
	}
	c.feat = parseFeat(rep.Lines[1 : len(rep.Lines)-1])
}

// parseFeat reads the feature lines of a FEAT reply (RFC 2389) into
// name -> argument. A feature listed once per argument ("AUTH TLS", "AUTH
// SSL") keeps all of them, space-separated.
func parseFeat(lines []string) map[string]string {
	feat := map[string]string{}
	for _, l := range lines {
		name, arg, _ := strings.Cut(strings.TrimSpace(l), " ")
		if name == "" {
			continue
		}
		name = strings.ToUpper(name)
		if prev := feat[name]; prev != "" {
			arg = prev + " " + arg
		}
		feat[name] = arg
	}
	return feat
}

// ConnectTime is how long the TCP connect took: one round trip.
func (c *Conn) ConnectTime() time.Duration { return c.rtt }

// Feature reports whether FEAT listed name, and its argument.
func (c *Conn) Feature(name string) (string, bool) {
	v, ok := c.feat[strings.ToUpper(name)]
	return v, ok
}

func (c *Conn) startTLS() error {
	tc := tls.Client(c.ctrl, c.cfg.TLS)
	tc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("ftp: TLS with %s: %w", c.cfg.Addr, err)
	}
	tc.SetDeadline(time.Time{})
	c.ctrl = tc
	c.r = bufio.NewReader(tc)
	c.tls = true
	return nil
}

// Login sends USER and PASS, then sets binary type and, with TLS, PBSZ 0
// and PROT P so that data connections are protected too.
func (c *Conn) Login(user, pass string) error {
	// The commands go out together (RFC 959 section 4.2: the replies
	// come in order): one round trip instead of five. In the clear PASS
	// waits for USER to ask for it: a server that refuses a name before
	// its password (vsftpd's userlist) does so that the password never
	// crosses the network unprotected. The replies are read in order; a
	// refused login stops at once, as the server may hang up after it.
	var setup []string
	if c.tls {
		setup = append(setup, "PBSZ 0", "PROT P")
	}
	setup = append(setup, "TYPE I")
	lines := []string{"USER " + user}
	if c.tls {
		lines = append(append(lines, "PASS "+pass), setup...)
	}
	if err := c.sendLines(lines...); err != nil {
		return err
	}
	rep, err := c.readFinal()
	if err != nil {
		return err
	}
	needPass := rep.Code == 331 || rep.Code == 332
	if !needPass && rep.Code != 230 && rep.Code != 202 {
		return &Error{Cmd: "login", Reply: rep}
	}
	if !c.tls {
		if needPass {
			setup = append([]string{"PASS " + pass}, setup...)
		}
		if err := c.sendLines(setup...); err != nil {
			return err
		}
		if needPass {
			setup = setup[1:]
		}
	}
	if c.tls || needPass {
		passRep, err := c.readFinal()
		if err != nil {
			return err
		}
		// A server that wants an account (332 again) is refused like a
		// wrong password; one that logged in without a password answered
		// PASS with whatever it likes.
		if needPass && passRep.Code != 230 && passRep.Code != 202 {
			return &Error{Cmd: "login", Reply: passRep}
		}
	}
	for _, line := range setup {
		rep, err := c.readFinal()
		if err != nil {
			return err
		}
		if rep.Code != 200 {
			return &Error{Cmd: verb(line), Reply: rep}
		}
	}
	return nil
}

func (c *Conn) trace(dir, line string) {
	if c.cfg.Trace == nil {
		return
	}
	if strings.HasPrefix(strings.ToUpper(line), "PASS ") {
		line = "PASS ****"
	}
	fmt.Fprintf(c.cfg.Trace, "%s %s\n", dir, line)
}

// send writes one command line.
func (c *Conn) send(line string) error { return c.sendLines(line) }

// sendLines sends several commands in one write (pipelined).
func (c *Conn) sendLines(lines ...string) error {
	var b strings.Builder
	for _, line := range lines {
		if strings.ContainsAny(line, "\r\n\x00") {
			return fmt.Errorf("ftp: control character in command %q", strings.SplitN(line, " ", 2)[0])
		}
		c.trace(">", line)
		b.WriteString(line + "\r\n")
	}
	c.ctrl.SetWriteDeadline(time.Now().Add(c.cfg.Timeout))
	if _, err := io.WriteString(c.ctrl, b.String()); err != nil {
		return fmt.Errorf("ftp: sending %s: %w", verb(lines[len(lines)-1]), err)
	}
	return nil
}

// read reads one reply within the timeout.
func (c *Conn) read() (wire.Reply, error) {
	return c.readWithin(c.cfg.Timeout)
}

func (c *Conn) readWithin(d time.Duration) (wire.Reply, error) {
	if d > 0 {
		c.ctrl.SetReadDeadline(time.Now().Add(d))
	} else {
		c.ctrl.SetReadDeadline(time.Time{})
	}
	rep, err := wire.ReadReply(c.r)
	if err != nil {
		return rep, fmt.Errorf("ftp: reading reply: %w", err)
	}
	if c.cfg.Trace != nil {
		for _, l := range rep.Lines {
			c.trace("<", fmt.Sprintf("%d %s", rep.Code, l))
		}
	}
	return rep, nil
}

// cmd sends a command and returns its final reply (skipping 1xx marks).
func (c *Conn) cmd(line string) (wire.Reply, error) {
	if err := c.send(line); err != nil {
		return wire.Reply{}, err
	}
	return c.readFinal()
}

// expect runs a command and wants one of the codes.
func (c *Conn) expect(line string, codes ...int) (wire.Reply, error) {
	rep, err := c.cmd(line)
	if err != nil {
		return rep, err
	}
	for _, code := range codes {
		if rep.Code == code {
			return rep, nil
		}
	}
	return rep, &Error{Cmd: verb(line), Reply: rep}
}

func verb(line string) string {
	if v, _, _ := strings.Cut(line, " "); strings.EqualFold(v, "PASS") {
		return "PASS"
	}
	return line
}

// Abort closes the control connection and the last data connection at
// once, from any goroutine: a transfer blocked on the network fails.
func (c *Conn) Abort() {
	if dc := c.data.Load(); dc != nil {
		(*dc).Close()
	}
	c.ctrl.Close()
}

// Quit ends the session politely and closes the connection.
func (c *Conn) Quit() error {
	if !c.busy {
		c.cmd("QUIT")
	}
	return c.ctrl.Close()
}
