package auth

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/bcrypt"
)

func TestPasswordHashes(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "s3cret") || CheckPassword(h, "s3creT") || CheckPassword(h, "") {
		t.Fatal("argon2id check wrong")
	}
	h2, _ := HashPassword("s3cret")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	bc, _ := bcrypt.GenerateFromPassword([]byte("old"), bcrypt.MinCost)
	if !CheckPassword(string(bc), "old") || CheckPassword(string(bc), "new") {
		t.Fatal("bcrypt check wrong")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=1,t=1,p=1$$", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5"} {
		if CheckPassword(bad, "plain") {
			t.Errorf("CheckPassword(%q) accepted", bad)
		}
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("empty password hashed")
	}
}

func TestLockout(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLockout(3, time.Minute, 10*time.Minute)
	l.now = func() time.Time { return now }
	ip, other := net.ParseIP("127.0.0.1"), net.ParseIP("::1")
	for i := 0; i < 2; i++ {
		if l.Fail(ip) {
			t.Fatalf("locked after %d failures", i+1)
		}
	}
	if !l.Fail(ip) {
		t.Fatal("not locked after 3 failures")
	}
	if locked, _ := l.Locked(ip); !locked {
		t.Fatal("Locked = false")
	}
	if locked, _ := l.Locked(other); locked {
		t.Fatal("another IP is locked")
	}
	now = now.Add(11 * time.Minute)
	if locked, _ := l.Locked(ip); locked {
		t.Fatal("still locked after the duration")
	}
	l.Fail(ip)
	now = now.Add(2 * time.Minute)
	l.Fail(ip)
	if l.Fail(ip) {
		t.Fatal("failures outside the window counted")
	}
	l.Succeed(ip)
	l.Fail(ip)
	if l.Fail(ip) {
		t.Fatal("success did not reset the count")
	}
}

func TestAuthenticatorPassword(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, _ := HashPassword("pw")
	if err := s.Add(ctx, store.User{Name: "alice", PasswordHash: h, Home: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	a := New(s, NewLockout(2, time.Minute, time.Minute), Options{})
	ip := net.ParseIP("127.0.0.9")
	if u, err := a.Password(ctx, ip, "alice", "pw"); err != nil || u.Name != "alice" {
		t.Fatalf("good login: %v", err)
	}
	if _, err := a.Password(ctx, ip, "nobody", "pw"); !errors.Is(err, ErrDenied) || !errors.Is(err, ErrUnknownUser) || err.Error() != ErrDenied.Error() {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := a.Password(ctx, ip, "alice", "bad"); !errors.Is(err, ErrDenied) || errors.Is(err, ErrUnknownUser) {
		t.Fatalf("bad password: %v", err)
	}
	if _, err := a.Password(ctx, ip, "alice", "pw"); !errors.Is(err, ErrLocked) {
		t.Fatalf("after two failures: %v, want ErrLocked", err)
	}
}

func TestParseKeys(t *testing.T) {
	const k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw8hHx4Ymx5M2Nl7pD2p9m1b3kq4v9m3kO3ZJ9k6Wq1 me@host"
	keys, err := ParseKeys([]byte("# comment\n\n" + k + "\n"))
	if err != nil || len(keys) != 1 || keys[0] != k {
		t.Fatalf("ParseKeys = %q, %v", keys, err)
	}
	if _, err := ParseKeys([]byte("ssh-ed25519 notbase64\n")); err == nil {
		t.Fatal("bad key accepted")
	}
	if _, err := ParseKeys(nil); err == nil {
		t.Fatal("empty file accepted")
	}
}

// newTestAuth returns an Authenticator over a store holding alice (password
// "pw") whose password checks are counted: total and most at once.
func newTestAuth(t *testing.T, l *Lockout, o Options, gate <-chan struct{}) (*Authenticator, *checkCounter) {
	t.Helper()
	s, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h, _ := HashPassword("pw")
	if err := s.Add(context.Background(), store.User{Name: "alice", PasswordHash: h, Home: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	a := New(s, l, o)
	c := &checkCounter{}
	a.check = func(hash, password string) bool {
		n := c.running.Add(1)
		defer c.running.Add(-1)
		c.total.Add(1)
		for {
			m := c.peak.Load()
			if n <= m || c.peak.CompareAndSwap(m, n) {
				break
			}
		}
		if gate != nil {
			<-gate
		}
		return CheckPassword(hash, password)
	}
	return a, c
}

type checkCounter struct{ running, total, peak atomic.Int64 }

// parallel runs n logins at once (released together) and returns their
// errors.
func parallel(n int, login func() error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = login()
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// TestAuthParallelGuesses: 150 wrong passwords at once from one
// address run at most lockout.max_failures hashes; the rest are refused
// with ErrLocked before hashing.
func TestAuthParallelGuesses(t *testing.T) {
	const guesses, maxFailures = 150, 10
	a, c := newTestAuth(t, NewLockout(maxFailures, time.Minute, time.Minute), Options{Hashes: 2, Wait: time.Minute}, nil)
	ip := net.ParseIP("127.0.0.7")
	errs := parallel(guesses, func() error {
		_, err := a.Password(context.Background(), ip, "alice", "wrong")
		return err
	})
	var denied, locked int
	for _, err := range errs {
		switch {
		case errors.Is(err, ErrDenied):
			denied++
		case errors.Is(err, ErrLocked):
			locked++
		default:
			t.Errorf("unexpected result %v", err)
		}
	}
	t.Logf("%d guesses: %d hashed and denied, %d locked; at most %d checks at once", guesses, denied, locked, c.peak.Load())
	if int(c.total.Load()) != denied || denied > maxFailures || denied == 0 || denied+locked != guesses {
		t.Fatalf("%d checks ran, %d denied, %d locked; want 1..%d checks, one per denial", c.total.Load(), denied, locked, maxFailures)
	}
	if c.peak.Load() > 2 {
		t.Fatalf("%d checks ran at once, Hashes = 2", c.peak.Load())
	}
	if locked, _ := a.Lockout.Locked(ip); !locked {
		t.Fatal("address not locked after the burst")
	}
}

// TestAuthBusy: with the lockout off, Hashes bounds the checks at
// once; a login that waits past Wait, or whose context ends, gets ErrBusy
// without hashing, and a busy refusal is not a failed login.
func TestAuthBusy(t *testing.T) {
	gate := make(chan struct{})
	a, c := newTestAuth(t, NewLockout(0, time.Minute, time.Minute), Options{Hashes: 2, Wait: 50 * time.Millisecond}, gate)
	ip := net.ParseIP("127.0.0.8")
	held := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := a.Password(context.Background(), ip, "alice", "wrong")
			held <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.running.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two checks did not start")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	errs := parallel(20, func() error {
		_, err := a.Password(context.Background(), ip, "alice", "pw")
		return err
	})
	if waited := time.Since(start); waited < 50*time.Millisecond || waited > 5*time.Second {
		t.Errorf("busy logins returned after %v, want about Wait (50ms)", waited)
	}
	for i, err := range errs {
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("login %d while both slots are held: %v, want ErrBusy", i, err)
		}
	}
	a.wait = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Password(ctx, ip, "alice", "pw"); !errors.Is(err, ErrBusy) || time.Since(start) > 30*time.Second {
		t.Fatalf("context ending while waiting: %v, want ErrBusy before Wait (1m)", err)
	}
	close(gate)
	for range 2 {
		if err := <-held; !errors.Is(err, ErrDenied) {
			t.Fatalf("held check: %v", err)
		}
	}
	if c.total.Load() != 2 || c.peak.Load() != 2 {
		t.Fatalf("%d checks ran, %d at once; want 2 and 2", c.total.Load(), c.peak.Load())
	}
	errs = parallel(8, func() error {
		_, err := a.Password(context.Background(), ip, "alice", "pw")
		return err
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("good password once slots are free: %v", err)
		}
	}
	if c.peak.Load() > 2 {
		t.Fatalf("%d checks ran at once, Hashes = 2", c.peak.Load())
	}
}

// TestAuthBusyIsNotAFailure: refusals for lack of a slot do not count toward
// the lockout.
func TestAuthBusyIsNotAFailure(t *testing.T) {
	gate := make(chan struct{})
	a, c := newTestAuth(t, NewLockout(2, time.Minute, time.Minute), Options{Hashes: 1, Wait: 10 * time.Millisecond}, gate)
	holder, ip := net.ParseIP("127.0.0.10"), net.ParseIP("127.0.0.11")
	done := make(chan error, 1)
	go func() {
		_, err := a.Password(context.Background(), holder, "alice", "pw")
		done <- err
	}()
	for c.running.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	for i := range 5 {
		if _, err := a.Password(context.Background(), ip, "alice", "wrong"); !errors.Is(err, ErrBusy) {
			t.Fatalf("attempt %d with the slot held: %v, want ErrBusy", i, err)
		}
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if locked, _ := a.Lockout.Locked(ip); locked {
		t.Fatal("busy refusals locked the address out")
	}
	if _, err := a.Password(context.Background(), ip, "alice", "pw"); err != nil {
		t.Fatalf("good password after busy refusals: %v", err)
	}
}

// TestAuthAfterFailures: a right password after failures under the
// limit logs in and forgets them; unknown users still cost one check.
func TestAuthAfterFailures(t *testing.T) {
	a, c := newTestAuth(t, NewLockout(3, time.Minute, time.Minute), Options{}, nil)
	if cap(a.slots) != 2*runtime.NumCPU() || a.wait != 5*time.Second {
		t.Errorf("defaults: %d slots, wait %v", cap(a.slots), a.wait)
	}
	ctx, ip := context.Background(), net.ParseIP("127.0.0.12")
	for round := range 3 {
		for range 2 {
			if _, err := a.Password(ctx, ip, "alice", "wrong"); !errors.Is(err, ErrDenied) {
				t.Fatalf("round %d: wrong password: %v", round, err)
			}
		}
		if u, err := a.Password(ctx, ip, "alice", "pw"); err != nil || u.Name != "alice" {
			t.Fatalf("round %d: right password after 2 of 3 failures: %v", round, err)
		}
	}
	before := c.total.Load()
	if _, err := a.Password(ctx, ip, "nobody", "pw"); !errors.Is(err, ErrDenied) || c.total.Load() != before+1 {
		t.Fatalf("unknown user: %v after %d checks, want ErrDenied after one", err, c.total.Load()-before)
	}
}

// TestLockoutBegin: checks in flight count as failures until they end.
func TestLockoutBegin(t *testing.T) {
	l := NewLockout(3, time.Minute, time.Minute)
	ip := net.ParseIP("127.0.0.13")
	for i := range 3 {
		if !l.begin(ip) {
			t.Fatalf("begin %d refused", i)
		}
	}
	if l.begin(ip) {
		t.Fatal("a fourth check began with three in flight")
	}
	l.end(ip, endCancel)
	if !l.begin(ip) {
		t.Fatal("a cancelled check was not taken back")
	}
	l.end(ip, endSucceed)
	if locked, _ := l.Locked(ip); locked {
		t.Fatal("locked with no failure recorded")
	}
	l.end(ip, endFail)
	l.end(ip, endFail)
	if !l.begin(ip) || l.begin(ip) {
		t.Fatal("two failures and one check in flight do not fill a limit of 3")
	}
	l.end(ip, endFail)
	if locked, _ := l.Locked(ip); !locked {
		t.Fatal("not locked after 3 failures")
	}
	if l.begin(ip) {
		t.Fatal("began a check while locked")
	}
	var off *Lockout
	if !off.begin(ip) || !NewLockout(0, 0, 0).begin(ip) {
		t.Fatal("a lockout that is off refused")
	}
}

// TestAuthParallelRightPasswords: a burst of right passwords larger than
// lockout.max_failures from one address (rclone opens a dozen logins at
// once) all succeed: they wait for the checks in flight instead of being
// refused as locked out.
func TestAuthParallelRightPasswords(t *testing.T) {
	const logins, maxFailures = 24, 10
	a, c := newTestAuth(t, NewLockout(maxFailures, time.Minute, time.Minute), Options{Hashes: 2, Wait: time.Minute}, nil)
	ip := net.ParseIP("127.0.0.17")
	for i, err := range parallel(logins, func() error {
		_, err := a.Password(context.Background(), ip, "alice", "pw")
		return err
	}) {
		if err != nil {
			t.Errorf("login %d of %d at once: %v", i, logins, err)
		}
	}
	if int(c.total.Load()) != logins {
		t.Fatalf("%d checks for %d logins", c.total.Load(), logins)
	}
}
