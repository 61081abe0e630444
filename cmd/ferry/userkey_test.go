package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/store"
)

// TestUserKey adds, lists and deletes keys, and compares the listing with
// what ssh-keygen -l prints for the same keys.
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
	keyFile := filepath.Join(dir, "keys")
	keys := ed + "\n"
	var want []string
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		for _, typ := range []string{"rsa", "ecdsa"} {
			p := filepath.Join(dir, "id_"+typ)
			if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "ann@"+typ, "-f", p).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v %s", err, out)
			}
			pub, _ := os.ReadFile(p + ".pub")
			keys += string(pub)
			out, _ := exec.Command("ssh-keygen", "-l", "-f", p+".pub").Output()
			want = append(want, strings.TrimSpace(string(out)))
		}
	}
	os.WriteFile(keyFile, []byte(keys), 0o644)

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
		{[]string{"add", "ann", "--key", "-"}, "not a key\n", "line 1"},
		{[]string{"add", "nobody", "--key", keyFile}, "", "no such user"},
		{[]string{"del", "ann", "SHA256:nope"}, "", "no such key"},
		{[]string{"del", "ann", "garbage"}, "", "neither"},
		{[]string{"list"}, "", "usage"},
		{[]string{"frob", "ann"}, "", "unknown subcommand"},
	} {
		if _, err := do(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.wantErr)
		}
	}
	if out, _ := do("", "list", "ann"); !strings.Contains(out, "no SSH keys") {
		t.Fatalf("bad input changed the store: %s", out)
	}
	if out, err := do("", "add", "ann", "--key", keyFile); err != nil || strings.Count(out, "added to ann") != 1+len(want) {
		t.Fatalf("add: %v %s", err, out)
	}
	out, err := do("", "list", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "256 SHA256:") || !strings.Contains(out, "ann@laptop (ED25519)") {
		t.Fatalf("list: %s", out)
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("list lacks ssh-keygen's %q:\n%s", w, out)
		}
	}
	fp := strings.Fields(strings.Split(out, "\n")[0])[1]
	if _, err := do("", "del", "ann", fp); err != nil {
		t.Fatal(err)
	}
	if _, err := do("", "del", "ann", strings.TrimSuffix(ed, " ann@laptop")); err == nil {
		t.Fatal("deleted the same key twice")
	}
	out, _ = do("", "list", "ann")
	if strings.Contains(out, fp) || strings.Count(out, "SHA256:") != len(want) {
		t.Fatalf("after del: %s", out)
	}
}
