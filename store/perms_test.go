package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/config"
)

// TestRulesAndMounts: rules and mounts are set, replaced, read back with
// the user, counted as changes of access, removed, and dropped with the
// user, on both engines.
func TestRulesAndMounts(t *testing.T) { forEngines(t, testRulesAndMounts) }

func testRulesAndMounts(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.Add(ctx, User{Name: "p", Home: "/srv/p"}); err != nil {
		t.Fatal(err)
	}
	rev := func() int64 { r, _ := s.Revisions(ctx); return r["p"] }
	r0 := rev()
	for _, r := range []Rule{{"/outgoing", "list,download"}, {"/incoming", "upload"}, {"/incoming", "upload,list"}} {
		if err := s.SetRule(ctx, "p", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddMount(ctx, "p", Mount{Path: "/shared", Dir: "/srv/pub", ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	if rev() != r0+4 {
		t.Fatalf("revision %d after 4 changes from %d", rev(), r0)
	}
	u, err := s.Get(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Rules) != 2 || u.Rules[0] != (Rule{"/incoming", "upload,list"}) || u.Rules[1] != (Rule{"/outgoing", "list,download"}) {
		t.Fatalf("rules = %+v", u.Rules)
	}
	if len(u.Mounts) != 1 || u.Mounts[0] != (Mount{"/shared", "/srv/pub", true}) {
		t.Fatalf("mounts = %+v", u.Mounts)
	}
	if err := s.SetRule(ctx, "nobody", Rule{"/", "list"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rule of a missing user: %v", err)
	}
	if err := s.DeleteRule(ctx, "p", "/nothing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing rule: %v", err)
	}
	if err := s.DeleteRule(ctx, "p", "/incoming"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMount(ctx, "p", "/shared"); err != nil {
		t.Fatal(err)
	}
	if u, _ = s.Get(ctx, "p"); len(u.Rules) != 1 || len(u.Mounts) != 0 {
		t.Fatalf("after deletes: %+v", u)
	}
	if err := s.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, User{Name: "p", Home: "/srv/p"}); err != nil {
		t.Fatal(err)
	}
	if u, _ = s.Get(ctx, "p"); len(u.Rules) != 0 {
		t.Fatalf("a deleted user's rules came back: %+v", u.Rules)
	}
}

func TestCheckMountDir(t *testing.T) {
	data := t.TempDir()
	cfg := &config.Config{DataDir: data}
	pub := t.TempDir()
	if got, err := CheckMountDir(cfg, pub, false); err != nil || got != pub {
		t.Fatalf("CheckMountDir(%s) = %q, %v", pub, got, err)
	}
	for _, dir := range []string{"/", filepath.Dir(data)} {
		if _, err := CheckMountDir(cfg, dir, false); !errors.Is(err, ErrHomeRefused) {
			t.Errorf("CheckMountDir(%s) = %v, want ErrHomeRefused", dir, err)
		}
	}
	if _, err := CheckMountDir(cfg, filepath.Join(pub, "missing"), false); err == nil {
		t.Error("a missing directory was accepted")
	}
	file := filepath.Join(pub, "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := CheckMountDir(cfg, file, false); err == nil {
		t.Error("a file was accepted")
	}
}
