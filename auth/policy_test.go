package auth

import (
	"errors"
	"testing"
)

func TestCheckPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"alice", "a-long-enough-passphrase", true},
		{"alice", "short", false},
		{"alicealicealice", "alicealicealice", false},
		{"alicealicealice", "ECILAECILAECILA", false},
		{"bob", "password1234", false},
		{"bob", "Password1234", false},
		{"bob", "ünïcödé-pässwörd", true}, // 16 characters, more bytes
		{"bob", "ünïcödé", false},
	} {
		err := CheckPolicy(tc.name, tc.pw, 12)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPolicy(%q, %q) = %v, want ok=%v", tc.name, tc.pw, err, tc.ok)
		}
	}
}
