package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
)

// ErrDenied is returned for a wrong name, password or key. It never says
// which, so a client cannot learn which user names exist.
var ErrDenied = errors.New("login incorrect")

// ErrUnknownUser is the ErrDenied of a name that has no account, after
// the same hashing as a wrong password (no timing tells): its text is ErrDenied's and errors.Is(err, ErrDenied)
// holds, so every protocol answers it exactly like a wrong password; only
// the defender tells them apart, to score a guessed name on its own.
var ErrUnknownUser error = unknownUser{}

type unknownUser struct{}

func (unknownUser) Error() string        { return ErrDenied.Error() }
func (unknownUser) Is(target error) bool { return target == ErrDenied }

// ErrLocked is returned while the client's IP is locked out, or while it
// has as many password checks in flight as it has failures left.
var ErrLocked = errors.New("too many failed logins from this address; try again later")

// ErrBusy is returned when no password check could start within
// Options.Wait: nothing was hashed and the attempt is not a failed login.
var ErrBusy = errors.New("server busy checking passwords; try again later")

// defaultWait is Options.Wait when it is zero: config's limits.password_wait
// default.
const defaultWait = 5 * time.Second

// Options bound the work password checks may take.
type Options struct {
	// Hashes is how many password checks run at once; 0 = 2 per core.
	// Each argon2id check holds 19 MiB (see argonMemory), so this also
	// bounds their memory.
	Hashes int
	// Wait is how long a login waits for a free check before ErrBusy;
	// 0 = 5s.
	Wait time.Duration
}

// Authenticator checks credentials against the store and applies the
// shared lockout. Build it with New.
type Authenticator struct {
	// Store and Lockout are read by adapters that have not moved off them
	// yet; set them only through New.
	Store   store.Store
	Lockout *Lockout

	once   sync.Once
	slots  chan struct{} // one token per password check running
	queued atomic.Int64  // password checks waiting for a slot
	quiet  *time.Timer   // fires when no check has run for settleAfter
	wait   time.Duration
	// check verifies a password; tests wrap it to count the checks.
	check func(hash, password string) bool
}

// New returns an Authenticator over st with the given lockout (nil: none).
func New(st store.Store, lockout *Lockout, o Options) *Authenticator {
	a := &Authenticator{Store: st, Lockout: lockout}
	a.setup(o)
	return a
}

// setup applies o once; an Authenticator built as a literal gets the
// defaults on first use.
func (a *Authenticator) setup(o Options) {
	a.once.Do(func() {
		if o.Hashes <= 0 {
			o.Hashes = 2 * runtime.NumCPU()
		}
		if o.Wait <= 0 {
			o.Wait = defaultWait
		}
		a.slots = make(chan struct{}, o.Hashes)
		a.quiet = time.AfterFunc(time.Hour, a.settle)
		a.quiet.Stop()
		a.wait = o.Wait
		if a.check == nil {
			a.check = CheckPassword
		}
	})
}

// acquire takes a password-check slot, waiting at most a.wait and never
// past ctx; it returns ErrBusy when none came free.
func (a *Authenticator) acquire(ctx context.Context) (release func(), err error) {
	select {
	case a.slots <- struct{}{}:
	default:
		a.queued.Add(1)
		defer a.queued.Add(-1)
		t := time.NewTimer(a.wait)
		defer t.Stop()
		select {
		case a.slots <- struct{}{}:
		case <-t.C:
			return nil, ErrBusy
		case <-ctx.Done():
			return nil, ErrBusy
		}
	}
	return func() {
		<-a.slots
		a.quiet.Reset(settleAfter)
	}, nil
}

// Checks is the number of password checks running and waiting for a
// slot (the hash queue), for the metrics.
func (a *Authenticator) Checks() (running, waiting int) {
	a.setup(Options{})
	return len(a.slots), int(a.queued.Load())
}

// settleAfter is how long password checks must have stopped before the
// memory of their burst is handed back to the operating system.
const settleAfter = 2 * time.Second

// settle returns the heap that a burst of argon2id checks (19 MiB each)
// left free to the operating system. Left to the runtime, the heap goal
// set during the burst stays until a collection that no idle server
// triggers: bench/logins.sh measured 200 concurrent logins leaving ferry at
// 186 MB resident for over 2 minutes, against 34 MB before the burst.
func (a *Authenticator) settle() {
	if len(a.slots) == 0 {
		debug.FreeOSMemory()
	}
}

// Password authenticates name/password from ip. The attempt is counted as
// a failure before the hash runs, so parallel guesses from one address
// run at most lockout.max_failures hashes; a success takes it back.
func (a *Authenticator) Password(ctx context.Context, ip net.IP, name, password string) (store.User, error) {
	a.setup(Options{})
	wctx, cancel := context.WithTimeout(ctx, a.wait)
	err := a.Lockout.beginWait(wctx, ip)
	cancel()
	if err != nil {
		return store.User{}, err
	}
	u, err := a.Store.Get(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.Lockout.end(ip, endCancel)
		return store.User{}, err
	}
	hash := u.PasswordHash
	if err != nil || hash == "" {
		hash = dummyHash
	}
	release, berr := a.acquire(ctx)
	if berr != nil {
		a.Lockout.end(ip, endCancel)
		return store.User{}, berr
	}
	ok := a.check(hash, password)
	release()
	if !ok || err != nil || u.PasswordHash == "" || u.Disabled {
		a.Lockout.end(ip, endFail)
		if err != nil {
			return store.User{}, ErrUnknownUser
		}
		return store.User{}, ErrDenied
	}
	a.Lockout.end(ip, endSucceed)
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
	if err == nil && !u.Disabled {
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
