package testserver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/crypto/ssh"
)

// passwordHash is Password's argon2id hash, the kind `ferry user add`
// stores, computed once per test binary.
var passwordHash = sync.OnceValues(func() (string, error) { return auth.HashPassword(Password) })

// Home is the home that AddUser gives the user name: Dir/homes/NAME.
func (s *Server) Home(name string) string {
	return filepath.Join(s.Dir, "homes", name)
}

// AddUser stores u, replacing a user of the same name (alice, bob and carol
// are there from the start), and returns it as stored. An empty Home
// becomes Home(u.Name), created; a home given is left as it is. An empty
// PasswordHash becomes Password's, unless u has keys.
func (s *Server) AddUser(u store.User) store.User {
	s.t.Helper()
	if u.Home == "" {
		u.Home = s.Home(u.Name)
		if err := os.MkdirAll(u.Home, 0o750); err != nil {
			s.t.Fatal(err)
		}
	}
	if u.PasswordHash == "" && len(u.Keys) == 0 {
		h, err := passwordHash()
		if err != nil {
			s.t.Fatal(err)
		}
		u.PasswordHash = h
	}
	ctx := context.Background()
	if err := s.Store.Delete(ctx, u.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.t.Fatal(err)
	}
	if err := s.Store.Add(ctx, u); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// WriteKey writes a new Ed25519 private key to path in OpenSSH's format,
// and its public key to path+".pub", and returns the public key as an
// authorized_keys line.
func WriteKey(t testing.TB, path string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "test@ferry")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " test@ferry"
	if err := os.WriteFile(path+".pub", []byte(pub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return pub
}
