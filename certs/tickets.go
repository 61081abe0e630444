package certs

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
)

// Tickets holds the keys that encrypt TLS session tickets (RFC 5077, RFC
// 8446 §4.6.1) for every listener of a node. Alone, crypto/tls makes its
// own keys and rotates them every 24 hours; nodes that share a store set
// the store's keys, so a client that reconnects through the balancer to
// another node resumes its session there.
type Tickets struct{ keys *tls.Config }

// NewTickets returns a holder with crypto/tls's automatic keys.
func NewTickets() *Tickets { return &Tickets{keys: &tls.Config{}} }

// Keys is the configuration whose EncryptTicket and DecryptTicket use the
// current keys (ftp wraps them to name a ticket's issuer).
func (t *Tickets) Keys() *tls.Config {
	if t == nil {
		return nil
	}
	return t.keys
}

// Install makes cfg, and every clone of it made afterwards, issue and
// accept tickets under the holder's keys.
func (t *Tickets) Install(cfg *tls.Config) {
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		return t.keys.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		return t.keys.DecryptTicket(identity, cs)
	}
}

// Set replaces the keys with the store's, newest first (base64 of 32
// bytes each): the first encrypts, all decrypt.
func (t *Tickets) Set(encoded []string) error {
	keys := make([][32]byte, 0, len(encoded))
	for _, e := range encoded {
		b, err := base64.StdEncoding.DecodeString(e)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("tls ticket key: not 32 bytes of base64")
		}
		keys = append(keys, [32]byte(b))
	}
	if len(keys) == 0 {
		return fmt.Errorf("tls ticket keys: none")
	}
	t.keys.SetSessionTicketKeys(keys)
	return nil
}

// NewTicketKey returns a new random key in the form Set takes.
func NewTicketKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b[:])
}
