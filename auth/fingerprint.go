package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Fingerprint describes a public key the way `ssh-keygen -l` prints it,
// "256 SHA256:... comment (ED25519)", so administrators can compare the two.
func Fingerprint(k ssh.PublicKey, comment string) string {
	bits, label := 0, strings.ToUpper(strings.TrimPrefix(k.Type(), "ssh-"))
	switch k.Type() {
	case ssh.KeyAlgoED25519:
		bits, label = 256, "ED25519"
	case ssh.KeyAlgoSKED25519:
		bits, label = 256, "ED25519-SK"
	case ssh.KeyAlgoSKECDSA256:
		bits, label = 256, "ECDSA-SK"
	}
	if ck, ok := k.(ssh.CryptoPublicKey); ok {
		switch pk := ck.CryptoPublicKey().(type) {
		case *rsa.PublicKey:
			bits, label = pk.N.BitLen(), "RSA"
		case *ecdsa.PublicKey:
			bits, label = pk.Curve.Params().BitSize, "ECDSA"
		}
	}
	if comment == "" {
		comment = "no comment"
	}
	return fmt.Sprintf("%d %s %s (%s)", bits, ssh.FingerprintSHA256(k), comment, label)
}
