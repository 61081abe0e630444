package auth

import (
	"context"
	"errors"
	"net"
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
	a := &Authenticator{Store: s, Lockout: NewLockout(2, time.Minute, time.Minute)}
	ip := net.ParseIP("127.0.0.9")
	if u, err := a.Password(ctx, ip, "alice", "pw"); err != nil || u.Name != "alice" {
		t.Fatalf("good login: %v", err)
	}
	if _, err := a.Password(ctx, ip, "nobody", "pw"); !errors.Is(err, ErrDenied) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := a.Password(ctx, ip, "alice", "bad"); !errors.Is(err, ErrDenied) {
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
