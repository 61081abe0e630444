package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/store"
)

// TestUserKey drives `ferry user key` add, list and del through their
// flags and messages; auth tests what the key descriptions say.
func TestUserKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(cfg, []byte("data_dir = \""+filepath.Join(dir, "data")+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, st, err := openStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Add(context.Background(), store.User{Name: "ann", Home: dir}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw8hHx4Ymx5M2Nl7pD2p9m1b3kq4v9m3kO3ZJ9k6Wq1 ann@laptop"
	const ed2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEu8Hb8k0MlzZyDo7UjN4g5xGv3dJrfvM1mXl4S2YcW7 ann@phone"
	keyFile := filepath.Join(dir, "keys")
	os.WriteFile(keyFile, []byte(ed+"\n"+ed2+"\n"), 0o644)

	do := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := userKey(append(args, "--config", cfg), strings.NewReader(stdin), &out)
		return out.String(), err
	}
	for _, tc := range []struct {
		args    []string
		stdin   string
		wantErr string
	}{
		{[]string{"add", "ann"}, "", "--key FILE is required"},
		{[]string{"add", "ann", "--key", "-"}, "not a key\n", "-: line 1"},
		{[]string{"add", "nobody", "--key", keyFile}, "", "no such user"},
		{[]string{"del", "ann", "SHA256:nope"}, "", "ann: no such key (see ferry user key list)"},
		{[]string{"del", "ann", "garbage"}, "", `ann: "garbage" is neither`},
		{[]string{"list"}, "", "usage"},
		{[]string{"frob", "ann"}, "", "unknown subcommand"},
	} {
		if _, err := do(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
		}
	}
	if out, _ := do("", "list", "ann"); out != "ann has no SSH keys\n" {
		t.Fatalf("bad input changed the store: %s", out)
	}
	if out, err := do("", "add", "ann", "--key", keyFile); err != nil || strings.Count(out, "added to ann: 256 SHA256:") != 2 {
		t.Fatalf("add: %v %s", err, out)
	}
	if out, err := do(ed2+"\n", "add", "ann", "--key", "-"); err != nil || !strings.Contains(out, "ann@phone (ED25519)") {
		t.Fatalf("add from standard input: %v %s", err, out)
	}
	out, err := do("", "list", "ann")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "ann@laptop (ED25519)\n") {
		t.Fatalf("list: %v %s", err, out)
	}
	fp := strings.Fields(out)[1]
	if out, err := do("", "del", "ann", fp); err != nil || !strings.HasPrefix(out, "deleted from ann: 256 "+fp) {
		t.Fatalf("del by fingerprint: %v %s", err, out)
	}
	if _, err := do("", "del", "ann", strings.TrimSuffix(ed, " ann@laptop")); err == nil {
		t.Fatal("deleted the same key twice")
	}
	if _, err := do("", "del", "ann", ed2); err != nil {
		t.Fatalf("del by key line: %v", err)
	}
	if out, _ := do("", "list", "ann"); out != "ann has no SSH keys\n" {
		t.Fatalf("after del: %s", out)
	}
}
