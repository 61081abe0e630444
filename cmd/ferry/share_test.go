package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/store"
)

// TestShareCommands drives `ferry share create|list|revoke` and the
// two-factor flags of `ferry user set` against a store.
func TestShareCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(cfg, []byte("data_dir = \""+filepath.Join(dir, "data")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, st, err := openStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Add(ctx, store.User{Name: "ann", Home: dir}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, bad := range [][]string{
		{"create", "ann"},
		{"create", "ann", "relative/path"},
		{"create", "ann", "/x/../..", "--upload"},
		{"create", "ann", "/in", "--expires", "soon"},
		{"create", "nobody", "/in"},
		{"revoke", "nope"},
		{"frob"},
	} {
		if err := runShare(append(bad, "--config", cfg)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if err := runShare([]string{"create", "ann", "/in", "--upload", "--expires", "2d", "--max-uses", "5", "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	_, st, _ = openStore(cfg)
	list, err := st.Shares(ctx, "ann")
	st.Close()
	if err != nil || len(list) != 1 {
		t.Fatalf("shares after bad input and one create: %+v, %v", list, err)
	}
	sh := list[0]
	if sh.Path != "/in" || !sh.Upload || sh.Download || sh.MaxUses != 5 || time.Until(sh.Expires) < 47*time.Hour || len(sh.TokenHash) != 64 {
		t.Fatalf("created %+v", sh)
	}
	if err := runShare([]string{"list", "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if err := runShare([]string{"revoke", sh.ID, "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if err := userSet([]string{"ann", "--require-2fa", "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	_, st, _ = openStore(cfg)
	defer st.Close()
	list, _ = st.Shares(ctx, "")
	tt, _ := st.TOTP(ctx, "ann")
	if !list[0].Revoked || !tt.Required {
		t.Fatalf("after revoke and --require-2fa: revoked=%v required=%v", list[0].Revoked, tt.Required)
	}
	if shareState(list[0], time.Now()) != "revoked" || !strings.Contains(shareUsage, "--max-uses") {
		t.Fatal("state or usage wrong")
	}
}
