package sftp

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferry-project/ferry/auth"
	"golang.org/x/crypto/ssh"
)

// hostKey is one loaded host key with the line ssh-keygen -l prints for it.
type hostKey struct {
	signer      ssh.Signer
	fingerprint string // "256 SHA256:... ferry (ED25519)"
}

const rsaBits = 3072

// hostKeyComment is written into the key files, as ssh-keygen writes user@host.
const hostKeyComment = "ferry"

// loadHostKeys reads the ed25519 and RSA host keys from dir, generating
// (and saving) each one that does not exist yet.
func loadHostKeys(dir string) ([]hostKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sftp: host keys: %w", err)
	}
	var keys []hostKey
	for _, kind := range []string{"ed25519", "rsa"} {
		path := filepath.Join(dir, "ssh_host_"+kind+"_key")
		k, err := loadOrGenerate(path, kind)
		if err != nil {
			return nil, fmt.Errorf("sftp: host key %s: %w", path, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func loadOrGenerate(path, kind string) (hostKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = generateHostKey(path, kind)
	}
	if err != nil {
		return hostKey{}, err
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		return hostKey{}, err
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return hostKey{}, err
	}
	switch raw.(type) {
	case *ed25519.PrivateKey:
	case *rsa.PrivateKey:
		// Only the SHA-2 signatures: ssh-rsa (SHA-1) is not offered.
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return hostKey{}, errors.New("RSA signer cannot choose its algorithm")
		}
		if signer, err = ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}); err != nil {
			return hostKey{}, err
		}
	default:
		return hostKey{}, fmt.Errorf("unsupported key type %T (want ed25519 or RSA)", raw)
	}
	return hostKey{signer: signer, fingerprint: auth.Fingerprint(signer.PublicKey(), hostKeyComment)}, nil
}

// generateHostKey creates a key, writes it in OpenSSH format (private key
// mode 0600, public key beside it as ssh-keygen does) and returns the
// private key file's bytes. The private key is written to a temporary name
// and renamed, so a crash never leaves a truncated key behind.
func generateHostKey(path, kind string) ([]byte, error) {
	var priv crypto.PrivateKey
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		priv = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, err
		}
		priv = k
	}
	block, err := ssh.MarshalPrivateKey(priv, hostKeyComment)
	if err != nil {
		return nil, err
	}
	b := pem.EncodeToMemory(block)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + hostKeyComment + "\n"
	if err := writeFileAtomic(path+".pub", []byte(pub), 0o644); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
