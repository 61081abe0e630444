package auth

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrNoSuchKey is returned by FindKey when no stored key matches.
var ErrNoSuchKey = errors.New("no such key")

// ErrKeySelector is returned by FindKey for a selector that is neither a
// fingerprint nor a public key line.
var ErrKeySelector = errors.New("is neither a SHA256: fingerprint nor a public key line")

// FindKey returns the authorized_keys line among lines that sel selects:
// a "SHA256:..." fingerprint, or an authorized_keys line compared by key,
// not by comment. Lines that do not parse never match.
func FindKey(lines []string, sel string) (string, error) {
	var blob []byte
	if !strings.HasPrefix(sel, "SHA256:") {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(sel))
		if err != nil {
			return "", fmt.Errorf("%q %w", sel, ErrKeySelector)
		}
		blob = k.Marshal()
	}
	for _, line := range lines {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			continue
		}
		if blob == nil && ssh.FingerprintSHA256(k) == sel || blob != nil && bytes.Equal(k.Marshal(), blob) {
			return line, nil
		}
	}
	return "", ErrNoSuchKey
}

// KeyFingerprint describes an authorized_keys line as Fingerprint does,
// or as "unreadable key: LINE" when it does not parse.
func KeyFingerprint(line string) string {
	k, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "unreadable key: " + line
	}
	return Fingerprint(k, comment)
}
