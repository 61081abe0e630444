package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestShares: a share link is stored, found by its token hash, used up to
// its limit, refused once expired or revoked, on both engines.
func TestShares(t *testing.T) { forEngines(t, testShares) }

func testShares(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.Add(ctx, User{Name: "owner", Home: "/srv/o"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddShare(ctx, Share{ID: "x", TokenHash: "h", User: "nobody", Path: "/"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("share of a missing user: %v", err)
	}
	now := time.Now()
	if err := s.AddShare(ctx, Share{ID: "a", TokenHash: "ha", User: "owner", Path: "/out", Download: true, MaxUses: 2, PasswordHash: "$argon2id$x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddShare(ctx, Share{ID: "b", TokenHash: "hb", User: "owner", Path: "/in", Upload: true, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddShare(ctx, Share{ID: "c", TokenHash: "ha", User: "owner", Path: "/"}); err == nil {
		t.Fatal("a second share with the same token hash was accepted")
	}
	sh, err := s.ShareByToken(ctx, "ha")
	if err != nil || sh.ID != "a" || sh.Path != "/out" || !sh.Download || sh.Upload || sh.MaxUses != 2 || sh.PasswordHash != "$argon2id$x" || !sh.Expires.IsZero() {
		t.Fatalf("ShareByToken = %+v, %v", sh, err)
	}
	if _, err := s.ShareByToken(ctx, "nope"); !errors.Is(err, ErrNoShare) {
		t.Fatalf("unknown token: %v", err)
	}
	for i := range 2 {
		if err := s.UseShare(ctx, "a", now); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if err := s.UseShare(ctx, "a", now); !errors.Is(err, ErrShareGone) {
		t.Fatalf("third use of a 2-use link: %v", err)
	}
	if err := s.UseShare(ctx, "b", now); err != nil {
		t.Fatal(err)
	}
	if err := s.UseShare(ctx, "b", now.Add(2*time.Hour)); !errors.Is(err, ErrShareGone) {
		t.Fatalf("use after expiry: %v", err)
	}
	if err := s.RevokeShare(ctx, "b", "someone-else"); !errors.Is(err, ErrNoShare) {
		t.Fatalf("revoke by another user: %v", err)
	}
	if err := s.RevokeShare(ctx, "b", "owner"); err != nil {
		t.Fatal(err)
	}
	if err := s.UseShare(ctx, "b", now); !errors.Is(err, ErrShareGone) {
		t.Fatalf("use after revoke: %v", err)
	}
	list, err := s.Shares(ctx, "owner")
	if err != nil || len(list) != 2 {
		t.Fatalf("Shares = %+v, %v", list, err)
	}
	for _, sh := range list {
		if sh.ID == "b" && (!sh.Revoked || sh.Uses != 1) || sh.ID == "a" && sh.Uses != 2 {
			t.Fatalf("listed %+v", sh)
		}
	}
	if all, _ := s.Shares(ctx, ""); len(all) != 2 {
		t.Fatalf("all shares: %d", len(all))
	}
	if err := s.Delete(ctx, "owner"); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Shares(ctx, ""); len(all) != 0 {
		t.Fatalf("shares outlived their user: %+v", all)
	}
}

// TestTOTP: enrolment, replay of a time step, recovery codes used once.
func TestTOTP(t *testing.T) { forEngines(t, testTOTP) }

func testTOTP(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.Add(ctx, User{Name: "u", Home: "/srv/u"}); err != nil {
		t.Fatal(err)
	}
	if tt, err := s.TOTP(ctx, "u"); err != nil || tt != (TOTP{}) {
		t.Fatalf("fresh user: %+v, %v", tt, err)
	}
	if err := s.SetRequire2FA(ctx, "u", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRequire2FA(ctx, "ghost", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("require for a missing user: %v", err)
	}
	if ok, _ := s.UseTOTPStep(ctx, "u", 5); ok {
		t.Fatal("a step accepted before enrolment")
	}
	if err := s.EnableTOTP(ctx, "u", 1, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("enable without a pending secret: %v", err)
	}
	if err := s.StartTOTP(ctx, "u", "SECRET"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, "u", 100, []string{"r1", "r2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTOTP(ctx, "u", "OTHER"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a new enrolment replaced an enabled secret: %v", err)
	}
	tt, _ := s.TOTP(ctx, "u")
	if !tt.Enabled || !tt.Required || tt.Secret != "SECRET" || tt.LastStep != 100 {
		t.Fatalf("after enrolment: %+v", tt)
	}
	for _, c := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		if ok, err := s.UseTOTPStep(ctx, "u", c.step); err != nil || ok != c.ok {
			t.Fatalf("step %d: %v, %v; want %v", c.step, ok, err, c.ok)
		}
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u", "r1"); !ok {
		t.Fatal("recovery code refused")
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u", "r1"); ok {
		t.Fatal("recovery code accepted twice")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, "u"); n != 1 {
		t.Fatalf("codes left: %d", n)
	}
	if err := s.DisableTOTP(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	tt, _ = s.TOTP(ctx, "u")
	if tt.Enabled || tt.Secret != "" || !tt.Required {
		t.Fatalf("after disable: %+v", tt)
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u", "r2"); ok {
		t.Fatal("recovery code outlived disable")
	}
}
