package auth

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGw8hHx4Ymx5M2Nl7pD2p9m1b3kq4v9m3kO3ZJ9k6Wq1 ann@laptop"

func TestFindKey(t *testing.T) {
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(testKey))
	if err != nil {
		t.Fatal(err)
	}
	fp := ssh.FingerprintSHA256(k)
	lines := []string{"garbage that is stored", testKey}
	for _, tc := range []struct {
		sel, want string
		err       error
	}{
		{fp, testKey, nil},
		{testKey, testKey, nil},
		// By key, not by comment.
		{strings.TrimSuffix(testKey, " ann@laptop"), testKey, nil},
		{strings.TrimSuffix(testKey, "ann@laptop") + "someone@else", testKey, nil},
		{"SHA256:nope", "", ErrNoSuchKey},
		{"garbage", "", ErrKeySelector},
		{"garbage that is stored", "", ErrKeySelector},
	} {
		got, err := FindKey(lines, tc.sel)
		if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("FindKey(%q) = %q, %v; want %q, %v", tc.sel, got, err, tc.want, tc.err)
		}
	}
	if _, err := FindKey(nil, fp); !errors.Is(err, ErrNoSuchKey) {
		t.Errorf("FindKey in no keys: %v", err)
	}
	if _, err := FindKey(nil, "garbage"); err == nil || err.Error() != `"garbage" is neither a SHA256: fingerprint nor a public key line` {
		t.Errorf("FindKey message: %v", err)
	}
}

// TestKeyFingerprint compares KeyFingerprint with what ssh-keygen -l
// prints for the same keys.
func TestKeyFingerprint(t *testing.T) {
	if got := KeyFingerprint(testKey); !strings.HasPrefix(got, "256 SHA256:") || !strings.HasSuffix(got, " ann@laptop (ED25519)") {
		t.Errorf("KeyFingerprint(ed25519) = %q", got)
	}
	if got := KeyFingerprint("not a key"); got != "unreadable key: not a key" {
		t.Errorf("KeyFingerprint(garbage) = %q", got)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("no ssh-keygen to compare with")
	}
	dir := t.TempDir()
	for _, typ := range []string{"rsa", "ecdsa", "ed25519"} {
		p := filepath.Join(dir, "id_"+typ)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "ann@"+typ, "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
		out, err := exec.Command("ssh-keygen", "-l", "-f", p+".pub").Output()
		if err != nil {
			t.Fatalf("ssh-keygen -l: %v", err)
		}
		pub, _ := os.ReadFile(p + ".pub")
		if got, want := KeyFingerprint(strings.TrimSpace(string(pub))), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: KeyFingerprint = %q, ssh-keygen -l = %q", typ, got, want)
		}
	}
}
