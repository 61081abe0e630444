package auth

import (
	"context"
	"net"
)

// Secret checks password against hash (a share link's password) for a
// visitor from ip, with the same lockout and bounded hashing as Password:
// a link's password cannot be guessed faster than an account's, nor its
// hashing exhaust the CPU. It returns nil, ErrDenied, ErrLocked or
// ErrBusy.
func (a *Authenticator) Secret(ctx context.Context, ip net.IP, hash, password string) error {
	a.setup(Options{})
	wctx, cancel := context.WithTimeout(ctx, a.wait)
	err := a.Lockout.beginWait(wctx, ip)
	cancel()
	if err != nil {
		return err
	}
	release, err := a.acquire(ctx)
	if err != nil {
		a.Lockout.end(ip, endCancel)
		return err
	}
	ok := a.check(hash, password)
	release()
	if !ok {
		a.Lockout.end(ip, endFail)
		return ErrDenied
	}
	a.Lockout.end(ip, endSucceed)
	return nil
}

// Attempt runs check (a second factor's code) as one login attempt from
// ip: counted as a failure before it runs, as Password does, so parallel
// guesses are bounded by the lockout too; a false from check stands as a
// failure. It returns nil, ErrDenied, ErrLocked, ErrBusy or check's error.
func (a *Authenticator) Attempt(ctx context.Context, ip net.IP, check func() (bool, error)) error {
	a.setup(Options{})
	wctx, cancel := context.WithTimeout(ctx, a.wait)
	err := a.Lockout.beginWait(wctx, ip)
	cancel()
	if err != nil {
		return err
	}
	ok, err := check()
	switch {
	case err != nil:
		a.Lockout.end(ip, endCancel)
		return err
	case !ok:
		a.Lockout.end(ip, endFail)
		return ErrDenied
	}
	a.Lockout.end(ip, endSucceed)
	return nil
}
