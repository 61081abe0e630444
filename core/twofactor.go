package core

import (
	"context"
	"fmt"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// EventShareUsed is a visitor's use of a share link (a download, an
// upload, a listing), with the visitor's address; the session's user is
// the link's owner.
const EventShareUsed = "share.used"

// ErrSecondFactor refuses a right password over FTP, FTPS or SFTP for a
// user to whom two-factor applies (http.ftp_passwords_for_2fa = false):
// those protocols have no second factor. It is an auth.ErrDenied, so
// every protocol answers it as a refused login.
var ErrSecondFactor = fmt.Errorf("%w (two-factor account: use the web client, or an SSH key)", auth.ErrDenied)

// twoFactor is what the core needs of the http section for the check.
type twoFactor struct {
	required     bool // http.require_2fa
	ftpPasswords bool // http.ftp_passwords_for_2fa
}

// TwoFactorApplies reports whether user must give a second factor at web
// logins: it has one enabled, or it is required for the user or for all.
func (c *Core) TwoFactorApplies(ctx context.Context, user string) (store.TOTP, bool, error) {
	t, err := c.auth.Store.TOTP(ctx, user)
	if err != nil {
		return t, false, err
	}
	return t, t.Enabled || t.Required || c.twoFA.required, nil
}

// secondFactorGate refuses the password login of u on a protocol without
// a second factor when two-factor applies to u.
func (cn *Conn) secondFactorGate(ctx context.Context, u store.User) error {
	if cn.core.twoFA.ftpPasswords || cn.Service == listen.HTTP || cn.Service == listen.HTTPS {
		return nil
	}
	_, applies, err := cn.core.TwoFactorApplies(ctx, u.Name)
	if err != nil {
		return err
	}
	if applies {
		r := cn.recordOf(EventLoginFailed)
		r.User, r.Method, r.Reason = u.Name, "password", "2fa"
		cn.core.record(r)
		cn.Log.Warn("login failed", "event", EventLoginFailed, "user", u.Name, "method", "password", "reason", "2fa")
		return ErrSecondFactor
	}
	return nil
}

// Secret checks a share link's password for this connection's address,
// with the lockout and the bounded hashing of logins (auth.Secret); a
// wrong one is a login.failed of method "share".
func (cn *Conn) Secret(ctx context.Context, shareID, hash, password string) error {
	if _, err := cn.Banned(); err != nil {
		return fmt.Errorf("%w: %w", auth.ErrLocked, err)
	}
	err := cn.core.auth.Secret(ctx, cn.IP(), hash, password)
	if err != nil {
		cn.loginFailed("share:"+shareID, "share", err)
	}
	return err
}

// Code checks a second factor of user (check reports whether the code
// is right and unused) as a login attempt of this connection's address,
// bounded by the lockout; a wrong one is a login.failed of method "totp".
func (cn *Conn) Code(ctx context.Context, user string, check func() (bool, error)) error {
	if _, err := cn.Banned(); err != nil {
		return fmt.Errorf("%w: %w", auth.ErrLocked, err)
	}
	err := cn.core.auth.Attempt(ctx, cn.IP(), check)
	if err != nil {
		cn.loginFailed(user, "totp", err)
	}
	return err
}

// Store is the user store, for the adapters' share links and second
// factors.
func (c *Core) Store() store.Store { return c.auth.Store }
