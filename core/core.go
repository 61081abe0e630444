package core

import (
	"container/list"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// Errors of admission and login. Adapters map them to their protocol's
// refusal with errors.Is; auth.ErrLocked, auth.ErrDenied and auth.ErrBusy
// come through unchanged.
var (
	ErrShuttingDown  = errors.New("server shutting down")
	ErrTooManyFromIP = errors.New("too many connections from your address; try again later")
	ErrTooMany       = errors.New("too many sessions on this server; try again later")
	// ErrTooManyOfUser is limits.max_sessions_per_user reached; it is an
	// ErrTooMany too, so adapters answer it alike, with its own words.
	ErrTooManyOfUser error = userSessions{}
)

type userSessions struct{}

func (userSessions) Error() string {
	return "too many sessions of your account at once; try again later"
}
func (userSessions) Is(target error) bool { return target == ErrTooMany }

// Options are what New needs.
type Options struct {
	Config *config.Config
	Auth   *auth.Authenticator
	Log    *slog.Logger
	// OpenFS opens a user's file system at login; nil is what the
	// configuration says (storage, s3:// homes: object storage) or else
	// the local disk (vfs.NewLocal on the user's home), with the user's
	// virtual folders mounted in it. Tests give the memory backend.
	OpenFS func(u store.User) (vfs.FS, error)
	// Sinks receive every event as a Record (the audit log, metrics).
	Sinks []Sink
	// Guard, when set, is asked about every address at admission and at
	// every login (the defender): an error refuses it with that text.
	Guard Guard
	// Digests asks the adapters for the SHA-256 of every whole-file
	// transfer (Event.SHA256), for the audit log.
	Digests bool
	// Health are the checks of readiness (the store, the storage) that
	// Healthy runs for the load balancer (GET /healthz).
	Health []HealthCheck
}

// Core admits connections, logs users in and emits events for every
// protocol. It is safe for concurrent use.
type Core struct {
	auth    *auth.Authenticator
	log     *slog.Logger
	openFS  func(store.User) (vfs.FS, error)
	sinks   []Sink
	digests bool
	guard   Guard
	bw      *bandwidth
	warn    *throttle
	ids     atomic.Uint64

	health    []HealthCheck
	healthMu  sync.Mutex
	healthAt  time.Time
	healthErr error

	limits atomic.Pointer[config.Limits] // admission's budgets; SetLimits swaps them
	// interrupted is the uploads section (KeepInterrupted): the global
	// uploads.interrupted and each user's; a change needs a restart.
	interrupted config.Uploads
	twoFA       twoFactor // http.require_2fa and ftp_passwords_for_2fa

	mu       sync.Mutex
	closing  bool
	pre      list.List // pre-login connections, oldest first
	preByIP  map[netip.Addr]int
	allByIP  map[netip.Addr]int
	sessions int
	live     int
	byUser   map[string]map[*Conn]struct{} // logged-in sessions by user name
	open     map[uint64]*Conn              // logged-in sessions, for Sessions

	qmu    sync.Mutex
	quotas map[string]*usage // users with sessions
}

// New returns a core for a validated configuration.
func New(o Options) (*Core, error) {
	if o.Config == nil || o.Auth == nil {
		return nil, errors.New("core: Config and Auth are required")
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	openFS := o.OpenFS
	if openFS == nil {
		var err error
		if openFS, err = storage(o.Config); err != nil {
			return nil, err
		}
	}
	c := &Core{
		openFS:  openFS,
		auth:    o.Auth,
		log:     log,
		warn:    newThrottle(log, warnEvery),
		preByIP: map[netip.Addr]int{},
		allByIP: map[netip.Addr]int{},
		byUser:  map[string]map[*Conn]struct{}{},
		open:    map[uint64]*Conn{},
		quotas:  map[string]*usage{},
		sinks:   o.Sinks,
		digests: o.Digests,
		guard:   o.Guard,
		health:  o.Health,
		bw: newBandwidth(o.Config.Bandwidth.Upload, o.Config.Bandwidth.Download,
			o.Config.Bandwidth.UserUpload, o.Config.Bandwidth.UserDownload),
	}
	lim := o.Config.Limits
	c.limits.Store(&lim)
	c.interrupted = o.Config.Uploads
	c.twoFA = twoFactor{required: o.Config.HTTP.Require2FA, ftpPasswords: o.Config.HTTP.FTPPasswordsFor2FA}
	return c, nil
}

// warnEvery is how often one kind of repeated warning reaches the log; the
// lines in between are counted and reported with the next one.
const warnEvery = 10 * time.Second

// loginGrace is how long past limits.login_timeout a connection that has
// not logged in is kept before the core closes it itself. Adapters enforce
// the timeout with their protocol's own words; this is the backstop.
const loginGrace = 2 * time.Second

// Admit is called right after accept, before any TLS or SSH handshake. It
// refuses the connection when the server is shutting down, when the
// address is locked out, or when the address has used up its pre-login or
// total budget; otherwise the connection takes a pre-login slot, dropping
// the oldest pre-login connection when the budget is full. On refusal the
// caller closes nc, after at most a short cleartext reply.
func (c *Core) Admit(nc net.Conn, svc listen.Service) (*Conn, error) {
	remote := AddrPort(nc.RemoteAddr())
	ip := remote.Addr()
	// A locked-out address is turned away here, before its handshake,
	// except on HTTP(S): there the refusal is a 429 page a person can read,
	// given per request before any password is checked, and the handshakes
	// it costs are bounded by the pre-login budget like any others.
	web := svc == listen.HTTP || svc == listen.HTTPS
	if _, err := c.check(ip); err != nil && !web {
		c.refused(svc, remote, err.Error())
		return nil, err
	}
	if locked, _ := c.auth.Lockout.Locked(ip.AsSlice()); locked && !web {
		c.refused(svc, remote, "locked out")
		return nil, auth.ErrLocked
	}
	lim := c.limits.Load()
	c.mu.Lock()
	var err error
	switch {
	case c.closing:
		err = ErrShuttingDown
	case c.preByIP[ip] >= lim.MaxPreloginPerIP, c.allByIP[ip] >= lim.MaxConnectionsPerIP:
		err = ErrTooManyFromIP
	}
	if err != nil {
		c.mu.Unlock()
		c.refused(svc, remote, err.Error())
		return nil, err
	}
	var evicted *Conn
	if c.pre.Len() >= lim.MaxPrelogin {
		evicted = c.pre.Remove(c.pre.Front()).(*Conn)
		evicted.elem = nil
		c.preByIP[evicted.Remote.Addr()]--
		if c.preByIP[evicted.Remote.Addr()] == 0 {
			delete(c.preByIP, evicted.Remote.Addr())
		}
	}
	cn := &Conn{
		ID:      c.ids.Add(1),
		Service: svc,
		Remote:  remote,
		core:    c,
		nc:      nc,
		start:   time.Now(),
	}
	cn.Log = c.log.With("session", cn.ID, "service", string(svc), "remote", remote.String())
	cn.elem = c.pre.PushBack(cn)
	c.preByIP[ip]++
	c.allByIP[ip]++
	c.live++
	c.mu.Unlock()
	cn.timer = time.AfterFunc(lim.LoginTimeout.Duration+loginGrace, cn.loginExpired)
	if evicted != nil {
		c.warn.log(slog.LevelWarn, "prelogin.dropped", "pre-login connection dropped to admit a newer one (limits.max_prelogin is full)",
			"service", string(evicted.Service), "remote", evicted.Remote.String(), "max_prelogin", lim.MaxPrelogin)
		evicted.nc.Close()
	}
	cn.Log.Debug("connect", "local", AddrPort(nc.LocalAddr()).String())
	return cn, nil
}

// Guard is the defender's admission check: nil for an address that may
// connect, else the refusal, whose text may be shown to the client, and
// when it ends (zero: no end).
type Guard interface {
	Check(a netip.Addr) (until time.Time, err error)
	// Delay is how long a password login to the account name waits
	// before its check (the per-account throttle), 0 for none.
	Delay(name string) time.Duration
}

func (c *Core) check(a netip.Addr) (time.Time, error) {
	if c.guard == nil {
		return time.Time{}, nil
	}
	return c.guard.Check(a)
}

// refused logs a refused connection, rate-limited per reason; the sinks
// receive every one.
func (c *Core) refused(svc listen.Service, remote netip.AddrPort, reason string) {
	c.record(&Record{Kind: EventRefused, Service: svc, Remote: remote, Reason: reason})
	c.warn.log(slog.LevelWarn, "refused."+reason, "connection refused", "event", EventRefused,
		"service", string(svc), "remote", remote.String(), "reason", reason)
}

// Offend scores a refusal that has no session behind it, such as a data
// connection to a passive port from an address that no session waits
// for: like Conn.Offend, against remote, with no free allowance. From an
// address with connections of its own it is only logged: that is a
// client whose command failed before its data connection arrived (FTP
// clients connect first and send the command next), not a stranger.
func (c *Core) Offend(svc listen.Service, remote netip.AddrPort, offence, what, reason string) {
	c.mu.Lock()
	ours := c.allByIP[remote.Addr()] > 0
	c.mu.Unlock()
	if ours {
		c.warn.log(slog.LevelWarn, "refused."+reason, "refused", "service", string(svc), "remote", remote.String(),
			"what", what, "reason", reason, "scored", false)
		return
	}
	c.offend(&Record{Kind: EventRefused, Service: svc, Remote: remote, Offence: offence}, what, reason)
}

func (c *Core) offend(r *Record, what, reason string) {
	if len(what) > 64 {
		what = what[:64] // chosen by the client: bounded in every log
	}
	r.Target, r.Reason = what, reason
	c.record(r)
	c.warn.log(slog.LevelWarn, "refused."+reason, "refused", "event", EventRefused, "service", string(r.Service),
		"remote", r.Remote.String(), "what", what, "reason", reason, "scored", r.Offence != "")
}

// SetLimits applies new connection budgets (a reload) from the next
// admission on; connections already admitted keep their slots.
func (c *Core) SetLimits(l config.Limits) { c.limits.Store(&l) }

// EndUser ends every live session of user name in every protocol: the
// account was changed, disabled or deleted, and what it was allowed before
// must not go on. It returns how many sessions it ended.
func (c *Core) EndUser(name, reason string) int {
	c.mu.Lock()
	var conns []*Conn
	for cn := range c.byUser[name] {
		conns = append(conns, cn)
	}
	c.mu.Unlock()
	for _, cn := range conns {
		cn.logger().Warn("session ended by the administrator", "event", EventSessionEnd, "reason", reason)
		cn.nc.Close()
	}
	return len(conns)
}

// track files a session under user name ("" to drop it); the caller holds
// c.mu.
func (c *Core) track(cn *Conn, name string) {
	if old := cn.tracked; old != "" {
		delete(c.byUser[old], cn)
		if len(c.byUser[old]) == 0 {
			delete(c.byUser, old)
		}
	}
	cn.tracked = name
	if name != "" {
		if c.byUser[name] == nil {
			c.byUser[name] = map[*Conn]struct{}{}
		}
		c.byUser[name][cn] = struct{}{}
	}
}

// Close is the first phase of shutdown: from now on Admit refuses every
// connection. The caller closes the listeners, then lets the protocols
// drain their sessions.
func (c *Core) Close() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

// Live is the number of admitted connections not yet closed, and of those
// the logged-in sessions.
func (c *Core) Live() (conns, sessions int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live, c.sessions
}

// Warn logs a warning of a kind that can repeat without bound (a failed
// TLS handshake, a refused connection): at most one line per kind every
// few seconds reaches the log, with the count of those held back.
func (c *Core) Warn(kind, msg string, attrs ...any) {
	c.warn.log(slog.LevelWarn, kind, msg, attrs...)
}

// AddrPort is a connection address without IPv4-in-IPv6 mapping or zone.
func AddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
