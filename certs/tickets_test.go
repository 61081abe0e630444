package certs

import (
	"crypto/tls"
	"testing"
)

// TestTicketsAcrossNodes: a TLS 1.3 session issued by one "node" resumes
// on another that holds the same keys (as two nodes reading one store do),
// and not on a node with other keys; every clone of a configuration made
// after Install follows a later Set.
func TestTicketsAcrossNodes(t *testing.T) {
	cert, _, err := Load("", "", t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	shared := []string{NewTicketKey(), NewTicketKey()}
	node := func(keys []string) *tls.Config {
		h := NewTickets()
		cfg := ServerConfig(cert)
		h.Install(cfg)
		clone := cfg.Clone() // as the protocols clone the base config
		if keys != nil {
			if err := h.Set(keys); err != nil {
				t.Fatal(err)
			}
		}
		return clone
	}
	a, b, other := node(shared), node(shared), node([]string{NewTicketKey()})
	cache := tls.NewLRUClientSessionCache(4)
	dial := func(srv *tls.Config) bool {
		t.Helper()
		ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 1)
			c.Read(buf)
			c.Write(buf)
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// TLS 1.3 tickets arrive after the handshake: one round trip
		// reads them.
		c.Write([]byte{1})
		buf := make([]byte, 1)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		return c.ConnectionState().DidResume
	}
	if dial(a) {
		t.Fatal("first handshake resumed")
	}
	if !dial(b) {
		t.Fatal("a session of node a did not resume on node b with the same keys")
	}
	if dial(other) {
		t.Fatal("a session resumed on a node with other keys")
	}
	if err := NewTickets().Set([]string{"short"}); err == nil {
		t.Fatal("a key that is not 32 bytes was accepted")
	}
	var none *Tickets
	if none.Keys() != nil {
		t.Fatal("a nil holder has keys")
	}
}
