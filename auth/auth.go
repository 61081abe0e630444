package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
)

// ErrDenied is returned for a wrong name, password or key. It never says
// which, so a client cannot learn which user names exist.
var ErrDenied = errors.New("login incorrect")

// ErrBusy is returned when no password check could start in time: the
// server is checking as many as limits.password_hashes allows.
var ErrBusy = errors.New("server busy checking passwords; try again later")

// ErrLocked is returned while the client's IP is locked out.
var ErrLocked = errors.New("too many failed logins from this address; try again later")

// Authenticator checks credentials against the store and applies the
// shared lockout.
type Authenticator struct {
	Store   store.Store
	Lockout *Lockout
}

// Password authenticates name/password from ip.
func (a *Authenticator) Password(ctx context.Context, ip net.IP, name, password string) (store.User, error) {
	if locked, _ := a.Lockout.Locked(ip); locked {
		return store.User{}, ErrLocked
	}
	u, err := a.Store.Get(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash
	}
	if !CheckPassword(hash, password) || err != nil || u.PasswordHash == "" {
		a.Lockout.Fail(ip)
		return store.User{}, ErrDenied
	}
	a.Lockout.Succeed(ip)
	return u, nil
}

// PublicKey authenticates name by an SSH public key from ip. A key that
// does not match is not counted as a failed login: SSH clients offer every
// key they hold in turn. The SSH server counts a connection that ends
// without any successful method with Lockout.Fail.
func (a *Authenticator) PublicKey(ctx context.Context, ip net.IP, name string, key ssh.PublicKey) (store.User, error) {
	if locked, _ := a.Lockout.Locked(ip); locked {
		return store.User{}, ErrLocked
	}
	u, err := a.Store.Get(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	if err == nil {
		want := key.Marshal()
		for _, line := range u.Keys {
			k, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(line))
			if perr == nil && bytes.Equal(k.Marshal(), want) {
				a.Lockout.Succeed(ip)
				return u, nil
			}
		}
	}
	return store.User{}, ErrDenied
}

// ParseKeys reads an authorized_keys file and returns its keys as
// normalised lines, with a clear error for the first bad line.
func ParseKeys(data []byte) ([]string, error) {
	var keys []string
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, comment, _, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not an authorized_keys entry: %w", n+1, err)
		}
		s := string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(k)))
		if comment != "" {
			s += " " + comment
		}
		keys = append(keys, s)
	}
	if len(keys) == 0 {
		return nil, errors.New("no public key found")
	}
	return keys, nil
}
