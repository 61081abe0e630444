package core

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
	"golang.org/x/crypto/ssh"
)

// Conn is one admitted connection: pre-login until Begin, then a session
// with a user and the user's file system, until Close.
type Conn struct {
	ID      uint64
	Service listen.Service
	Remote  netip.AddrPort
	// Log carries the session id, the service and the remote address, and
	// the user once logged in. Adapters log through it.
	Log *slog.Logger

	core  *Core
	nc    net.Conn
	start time.Time
	timer *time.Timer

	// guarded by core.mu
	elem    *list.Element // in core.pre while pre-login
	session bool
	closed  bool
	tracked string // the user it is filed under in core.byUser

	mu     sync.Mutex // guards the fields below against Close
	user   store.User
	method string
	fs     vfs.FS
	quota  *usage
	// offences counts the session's Offend calls (FreeOffences).
	offences int
	moving   map[*Progress]struct{} // transfers in progress
}

// loginExpired closes a connection still not logged in after
// limits.login_timeout plus a grace: the backstop for every protocol.
func (cn *Conn) loginExpired() {
	c := cn.core
	c.mu.Lock()
	pre := !cn.session && !cn.closed
	c.mu.Unlock()
	if pre {
		cn.logger().Debug("login timeout: connection closed by the core")
		cn.nc.Close()
	}
}

// IP is the client's address as net.IP, for the packages that want one.
func (cn *Conn) IP() net.IP { return cn.Remote.Addr().AsSlice() }

// Password checks name and password for this connection's address, with
// the lockout and the bounded hashing of package auth, and logs a failure.
// Errors are auth.ErrDenied, auth.ErrLocked, auth.ErrBusy or a store error.
func (cn *Conn) Password(ctx context.Context, name, password string) (store.User, error) {
	if _, err := cn.Banned(); err != nil {
		err = fmt.Errorf("%w: %w", auth.ErrLocked, err)
		cn.loginFailed(name, "password", err)
		return store.User{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, cn.core.limits.Load().LoginTimeout.Duration)
	defer cancel()
	if g := cn.core.guard; g != nil {
		if d := g.Delay(name); d > 0 {
			// Slowed, not locked: the account's owner still gets in.
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
	u, err := cn.core.auth.Password(ctx, cn.IP(), name, password)
	if err != nil {
		cn.loginFailed(name, "password", err)
		return u, err
	}
	if err := cn.secondFactorGate(ctx, u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// PublicKey checks an SSH public key offered for name. A key that does not
// match is not a failed login (clients offer every key they hold); an SSH
// connection that ends with no method accepted calls Failed.
func (cn *Conn) PublicKey(ctx context.Context, name string, key ssh.PublicKey) (store.User, error) {
	if _, err := cn.Banned(); err != nil {
		return store.User{}, fmt.Errorf("%w: %w", auth.ErrLocked, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cn.core.limits.Load().LoginTimeout.Duration)
	defer cancel()
	return cn.core.auth.PublicKey(ctx, cn.IP(), name, key)
}

// Banned is the defender's refusal of the connection's address, if any,
// and when it ends. HTTP connections are admitted when banned, so that
// they can be told so with a page (429 and Retry-After); the web adapter
// asks here before each request.
func (cn *Conn) Banned() (time.Time, error) { return cn.core.check(cn.Remote.Addr()) }

// Failed counts a login that ended without any method accepted and
// without a password check already counted (SSH keys that all failed).
func (cn *Conn) Failed(name, method string) {
	cn.core.auth.Lockout.Fail(cn.IP())
	cn.loginFailed(name, method, auth.ErrDenied)
}

func (cn *Conn) loginFailed(name, method string, err error) {
	reason := ReasonDenied
	switch {
	case errors.Is(err, auth.ErrUnknownUser):
		reason = ReasonUnknownUser
	case errors.Is(err, auth.ErrLocked):
		reason = "locked out"
	case errors.Is(err, auth.ErrBusy):
		reason = "busy"
	case !errors.Is(err, auth.ErrDenied):
		reason = "error"
	}
	r := cn.recordOf(EventLoginFailed)
	r.User, r.Method, r.Reason = name, method, reason
	cn.core.record(r)
	attrs := []any{"event", EventLoginFailed, "user", name, "method", method, "reason", reason}
	if reason == "error" {
		cn.Log.Error("login failed", append(attrs, "err", err.Error())...)
		return
	}
	if reason != ReasonDenied && reason != ReasonUnknownUser {
		// Refusals without a password check repeat as fast as a client
		// can send them; the checked failures are bounded by the lockout.
		cn.core.warn.log(slog.LevelWarn, "login."+reason, "login refused", append(attrs, "service", string(cn.Service), "remote", cn.Remote.String())...)
		return
	}
	cn.Log.Warn("login failed", attrs...)
}

// Lookup returns a user record by name (web sessions hold only the name).
func (cn *Conn) Lookup(ctx context.Context, name string) (store.User, error) {
	return cn.core.auth.Store.Get(ctx, name)
}

// Begin makes the connection a session of u, authenticated by method, and
// opens u's file system once for it. It fails with ErrTooMany when
// limits.max_connections sessions are open. Calling it again for the same
// user (HTTP keep-alive with a login per request) keeps the session; for
// another user it switches the session to that user.
func (cn *Conn) Begin(u store.User, method string) error {
	c := cn.core
	c.mu.Lock()
	switch {
	case cn.closed, !cn.session && cn.elem == nil:
		// Closed, or dropped from the pre-login budget (its connection is
		// being closed under it).
		c.mu.Unlock()
		return net.ErrClosed
	case !cn.session && c.sessions >= c.limits.Load().MaxConnections:
		c.mu.Unlock()
		return cn.tooMany(u, ErrTooMany)
	case c.overUserCap(cn, u.Name):
		c.mu.Unlock()
		return cn.tooMany(u, ErrTooManyOfUser)
	case !cn.session:
		c.pre.Remove(cn.elem)
		cn.elem = nil
		if c.preByIP[cn.Remote.Addr()]--; c.preByIP[cn.Remote.Addr()] == 0 {
			delete(c.preByIP, cn.Remote.Addr())
		}
		cn.session = true
		c.sessions++
		c.open[cn.ID] = cn
	}
	c.mu.Unlock()
	cn.timer.Stop()

	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.fs != nil && cn.user.Name == u.Name && cn.user.Home == u.Home && cn.user.ReadOnly == u.ReadOnly &&
		slices.Equal(cn.user.Rules, u.Rules) && slices.Equal(cn.user.Mounts, u.Mounts) {
		return nil
	}
	rules, err := NewRules(u)
	var fsys vfs.FS
	if err == nil {
		fsys, err = cn.core.openFS(u)
	}
	if err != nil {
		cn.Log.Error("login failed: home directory", "event", EventLoginFailed, "user", u.Name, "reason", "home", "err", err.Error())
		r := cn.connRecord(EventLoginFailed)
		r.User, r.Method, r.Reason = u.Name, method, "home"
		cn.core.record(r)
		return err
	}
	if cn.fs != nil {
		cn.fs.Close()
		cn.core.release(cn.quota)
		cn.sessionEnd()
		cn.event(EventSessionEnd, "user", cn.user.Name, "duration", since(cn.start))
	}
	c.mu.Lock()
	if !cn.closed {
		c.track(cn, u.Name)
	}
	c.mu.Unlock()
	if rules != nil {
		fsys = permFS{FS: fsys, rules: rules, refuse: cn.Refuse}
	}
	cn.quota = cn.core.quotaOf(u.Name)
	cn.fs, cn.user, cn.method = eventFS{FS: fsys, cn: cn, quota: cn.quota}, u, method
	cn.Log = cn.core.log.With("session", cn.ID, "service", string(cn.Service), "remote", cn.Remote.String(), "user", u.Name)
	r := cn.connRecord(EventLoginOK)
	r.Method = method
	cn.core.record(r)
	cn.event(EventLoginOK, "method", method, "read_only", u.ReadOnly)
	return nil
}

// User is the session's user (zero before Begin).
func (cn *Conn) User() store.User {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.user
}

// FS is the session's file system (nil before Begin).
func (cn *Conn) FS() vfs.FS {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.fs
}

// Close ends the connection's admission: its slot is freed, its file
// system closed, and a logged-in session logs its end. It does not close
// the network connection, which the adapter owns. Safe to call twice.
func (cn *Conn) Close() {
	c := cn.core
	c.mu.Lock()
	if cn.closed {
		c.mu.Unlock()
		return
	}
	cn.closed = true
	ip := cn.Remote.Addr()
	if cn.elem != nil {
		c.pre.Remove(cn.elem)
		cn.elem = nil
		if c.preByIP[ip]--; c.preByIP[ip] == 0 {
			delete(c.preByIP, ip)
		}
	}
	if cn.session {
		c.sessions--
		delete(c.open, cn.ID)
	}
	if c.allByIP[ip]--; c.allByIP[ip] == 0 {
		delete(c.allByIP, ip)
	}
	c.live--
	session := cn.session
	c.track(cn, "")
	c.mu.Unlock()
	cn.timer.Stop()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.fs != nil {
		cn.fs.Close()
		cn.core.release(cn.quota)
		cn.quota = nil
	}
	if session {
		cn.sessionEnd()
		cn.event(EventSessionEnd, "duration", since(cn.start))
	} else {
		cn.Log.Debug("disconnect before login", "duration", since(cn.start))
	}
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// sessionEnd records the end of the session of cn.user; the caller holds
// cn.mu.
func (cn *Conn) sessionEnd() {
	r := cn.connRecord(EventSessionEnd)
	r.Method = cn.method
	r.Duration = time.Since(cn.start)
	cn.core.record(r)
}

// recordOf is connRecord for a caller that does not hold cn.mu.
func (cn *Conn) recordOf(kind string) *Record {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.connRecord(kind)
}

// overUserCap reports whether cn may not become (or switch to) a session
// of name: limits.max_sessions_per_user of them are open. The caller holds
// c.mu. Two logins of one user at the same instant may both pass: the
// count grows once their file systems are open.
func (c *Core) overUserCap(cn *Conn, name string) bool {
	max := c.limits.Load().MaxSessionsPerUser
	if max <= 0 {
		return false
	}
	if _, already := c.byUser[name][cn]; already {
		return false
	}
	return len(c.byUser[name]) >= max
}

// tooMany refuses a login past a session cap, err being the cap.
func (cn *Conn) tooMany(u store.User, err error) error {
	r := cn.recordOf(EventRefused)
	r.User, r.Reason = u.Name, err.Error()
	cn.core.record(r)
	cn.core.warn.log(slog.LevelWarn, "refused.sessions", "login refused", "event", EventRefused, "service", string(cn.Service),
		"remote", cn.Remote.String(), "user", u.Name, "reason", err.Error())
	return err
}
