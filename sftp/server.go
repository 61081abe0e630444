package sftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
)

// Options are the shared services the SSH server uses.
type Options struct {
	Config *config.Config
	Core   *core.Core // admission, login and events, shared with the other protocols
	Log    *slog.Logger
}

// Server accepts SSH connections and serves SFTP to authenticated users.
type Server struct {
	o        Options
	log      *slog.Logger
	hostKeys []hostKey

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup
}

// Algorithms: no SHA-1 key exchange or MAC, no CBC.
var (
	kexAlgos = []string{ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519,
		ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521}
	ciphers = []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR}
	macs         = []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM}
	userKeyAlgos = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoSKECDSA256,
		ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
)

// userKey is the key of the authenticated store.User in
// ssh.Permissions.ExtraData, which carries it from the auth callbacks to
// the connection.
type userKey struct{}

// New loads the host keys from the data directory, generating them on
// first start, and logs their fingerprints.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Core == nil {
		return nil, errors.New("sftp: Options need Config and Core")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	keys, err := loadHostKeys(o.Config.DataDir)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		log.Info("sftp host key", "fingerprint", k.fingerprint)
	}
	return &Server{o: o, log: log, hostKeys: keys, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}, nil
}

// Serve accepts connections on ln until it is closed. After Shutdown it
// returns nil.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	err := listen.Accept(ln, s.log, s.accept)
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	return fmt.Errorf("sftp: accept: %w", err)
}

// accept admits the connection (before the SSH handshake), then runs it in
// its own goroutine.
func (s *Server) accept(nc net.Conn) {
	cn, err := s.o.Core.Admit(nc, listen.SFTP)
	if err != nil {
		refuse(nc, err)
		return
	}
	c := &conn{cn: cn, log: cn.Log}
	c.Conn = nc
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cn.Close()
		nc.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer cn.Close()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
		s.handle(c)
	}()
}

// Shutdown stops accepting, closes sessions as soon as they have no file
// open, and closes whatever is left when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			if c.busy.Load() == 0 {
				c.Close()
			}
		}
		s.mu.Unlock()
		if n == 0 {
			s.wg.Wait()
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.Close()
			}
			s.mu.Unlock()
			s.wg.Wait()
			return ctx.Err()
		}
	}
}

// conn is one client connection. Reads and writes mark it active for the
// idle timeout.
type conn struct {
	net.Conn
	cn   *core.Conn
	log  *slog.Logger
	busy atomic.Int32 // open file handles over all its sessions
	last atomic.Int64 // unix nanoseconds of the last read or write

	rbuf *[]byte // read-ahead; unread data is (*rbuf)[r:w]
	r, w int

	authTried  bool // a method other than "none" was tried
	pwCounted  bool // a password was tried: the lockout has had its say
	authMethod string
	authUser   string
}

// readAhead is the size of the read-ahead buffer of a busy connection.
// x/crypto/ssh reads each packet's length through a 4 KiB bufio.Reader and
// then the rest, two or three system calls per 32 KiB packet; reading ahead
// makes that one call for up to readAhead bytes. The buffer goes back to
// the pool as soon as it is drained, so an idle connection holds none.
const readAhead = 256 << 10

var readPool = sync.Pool{New: func() any { b := make([]byte, readAhead); return &b }}

// Read is called by x/crypto/ssh's single reader goroutine only.
func (c *conn) Read(b []byte) (int, error) {
	if c.rbuf == nil {
		if len(b) >= readAhead {
			n, err := c.Conn.Read(b)
			c.last.Store(time.Now().UnixNano())
			return n, err
		}
		c.rbuf = readPool.Get().(*[]byte)
		n, err := c.Conn.Read(*c.rbuf)
		c.last.Store(time.Now().UnixNano())
		if n == 0 {
			readPool.Put(c.rbuf)
			c.rbuf = nil
			return 0, err
		}
		c.r, c.w = 0, n
	}
	n := copy(b, (*c.rbuf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		readPool.Put(c.rbuf)
		c.rbuf = nil
	}
	return n, nil
}

func (c *conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.last.Store(time.Now().UnixNano())
	return n, err
}

// watchIdle closes the connection after idle without traffic. It uses a
// timer rather than a goroutine, so an idle session costs no stack.
func (c *conn) watchIdle(idle time.Duration) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(idle, func() {
		since := time.Since(time.Unix(0, c.last.Load()))
		if since >= idle {
			c.log.Info("sftp idle timeout", "idle", idle.String())
			c.Close()
			return
		}
		t.Reset(idle - since)
	})
	return t
}

func (s *Server) serverConfig(c *conn) *ssh.ServerConfig {
	ctx := context.Background()
	cfg := &ssh.ServerConfig{
		Config:                  ssh.Config{KeyExchanges: kexAlgos, Ciphers: ciphers, MACs: macs},
		PublicKeyAuthAlgorithms: userKeyAlgos,
		ServerVersion:           serverVersion,
		MaxAuthTries:            6,
		PasswordCallback: func(m ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
			u, err := c.cn.Password(ctx, m.User(), string(pass))
			if err != nil {
				// Denied: already counted; locked out or busy: refused
				// without a check. None of these makes the connection a
				// key-only failure to count again when it ends.
				c.pwCounted = true
				return nil, err
			}
			c.authMethod = "password"
			return perms(u), nil
		},
		PublicKeyCallback: func(m ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			u, err := c.cn.PublicKey(ctx, m.User(), key)
			if err != nil {
				return nil, err
			}
			c.authMethod = "publickey " + ssh.FingerprintSHA256(key)
			return perms(u), nil
		},
		AuthLogCallback: func(m ssh.ConnMetadata, method string, _ error) {
			if method != "none" {
				c.authTried = true
				c.authUser = m.User()
			}
		},
	}
	for _, k := range s.hostKeys {
		cfg.AddHostKey(k.signer)
	}
	return cfg
}

func perms(u store.User) *ssh.Permissions {
	return &ssh.Permissions{ExtraData: map[any]any{userKey{}: u}}
}

// handle runs one connection: handshake and authentication within the
// login timeout, then its channels until the client leaves.
func (s *Server) handle(c *conn) {
	lim := s.o.Config.Limits
	start := time.Now()
	c.last.Store(start.UnixNano())
	c.SetDeadline(start.Add(lim.LoginTimeout.Duration))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.serverConfig(c))
	if err != nil {
		c.Close()
		switch {
		case c.authTried && !c.pwCounted:
			// Only keys were offered and none matched: one failed login.
			c.cn.Failed(c.authUser, "publickey")
		case !c.authTried:
			c.log.Debug("sftp connection closed before login", "err", err.Error())
		}
		return
	}
	defer sc.Close()
	c.SetDeadline(time.Time{})
	u := sc.Permissions.ExtraData[userKey{}].(store.User)
	if err := c.cn.Begin(u, c.authMethod); err != nil {
		return
	}
	log := c.cn.Log
	log.Debug("sftp client", "client", string(sc.ClientVersion()))
	idle := c.watchIdle(lim.IdleTimeout.Duration)
	defer idle.Stop()
	go ssh.DiscardRequests(reqs) // global requests: tcpip-forward and the like are refused

	var wg sync.WaitGroup
	// Sessions open at once, not over the connection's life: rclone opens
	// one session channel per file it hashes (exec md5sum).
	open := make(chan struct{}, maxSessionsPerConn)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			log.Warn("sftp channel refused", "type", nc.ChannelType())
			nc.Reject(ssh.Prohibited, "only the sftp subsystem is available")
			continue
		}
		select {
		case open <- struct{}{}:
		default:
			nc.Reject(ssh.ResourceShortage, "too many sessions on this connection")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			<-open
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-open }()
			s.channel(c, ch, creqs, log)
		}()
	}
	wg.Wait()
}

const maxSessionsPerConn = 10

// channel answers a session channel's requests: the "sftp" subsystem is
// started, an exec of a hash command is answered (exec.go), every other
// request (shell, other commands, pty, agent, X11) is refused.
func (s *Server) channel(c *conn, ch ssh.Channel, reqs <-chan *ssh.Request, log *slog.Logger) {
	defer ch.Close()
	done := make(chan struct{})
	started := false
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				if started {
					<-done
				}
				return
			}
			if req.Type == "subsystem" && !started && payloadString(req.Payload) == "sftp" {
				started = true
				req.Reply(true, nil)
				go func() {
					defer close(done)
					s.sftp(c, ch, log)
				}()
				continue
			}
			if req.Type == "exec" && !started {
				if algo, paths, ok := hashCommand(payloadString(req.Payload)); ok {
					started = true
					req.Reply(true, nil)
					go func() {
						defer close(done)
						s.execHash(c, ch, algo, paths, log)
					}()
					continue
				}
				if r, ok := scpCommand(payloadString(req.Payload)); ok {
					started = true
					req.Reply(true, nil)
					go func() {
						defer close(done)
						s.runSCP(c, ch, r, log)
					}()
					continue
				}
			}
			if req.Type != "env" {
				log.Info("sftp request refused", "type", req.Type, "detail", requestDetail(req))
			}
			req.Reply(false, nil)
		case <-done:
			go ssh.DiscardRequests(reqs)
			return
		}
	}
}

// payloadString reads the SSH string a subsystem or exec request carries.
func payloadString(payload []byte) string {
	d := decoder{b: payload}
	name := d.str()
	if d.err != nil {
		return ""
	}
	return name
}

// requestDetail names the subsystem or command a refused request asked for.
func requestDetail(req *ssh.Request) string {
	if req.Type != "subsystem" && req.Type != "exec" {
		return ""
	}
	s := payloadString(req.Payload)
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.ToValidUTF8(s, "?")
}

// sftp runs the subsystem over ch with the session's file system, then
// reports an exit status so the client sees a clean end.
func (s *Server) sftp(c *conn, ch ssh.Channel, log *slog.Logger) {
	err := newSession(c.cn, ch, &c.busy).serve()
	status := byte(0)
	if err != nil {
		log.Warn("sftp session ended with an error", "err", err)
		status = 1
	}
	ch.SendRequest("exit-status", false, []byte{0, 0, 0, status})
	ch.CloseWrite()
}
