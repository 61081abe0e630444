package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// ACMEOptions configure automatic certificates (tls.acme_*).
type ACMEOptions struct {
	Domains   []string
	Email     string
	Directory string // "" = Let's Encrypt's production directory
	CAFile    string // extra CA for the directory's own HTTPS ("" = the system's)
	DataDir   string // certificates and the account key are kept in DataDir/acme
}

// ACME obtains and renews certificates from an RFC 8555 server with
// golang.org/x/crypto/acme/autocert, answering the HTTP-01 challenge on the
// HTTP listener (HTTPHandler) and TLS-ALPN-01 (RFC 8737) in the TLS
// handshake.
type ACME struct {
	m       *autocert.Manager
	domains []string
}

// NewACME prepares the manager; the first certificate is requested at the
// first handshake that needs it.
func NewACME(o ACMEOptions) (*ACME, error) {
	dir := filepath.Join(o.DataDir, "acme")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("acme: %w", err)
	}
	client := &acme.Client{DirectoryURL: o.Directory}
	if client.DirectoryURL == "" {
		client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.acme_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.acme_ca_file %s: no PEM certificate", o.CAFile)
		}
		client.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	return &ACME{
		m: &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			Cache:      autocert.DirCache(dir),
			HostPolicy: autocert.HostWhitelist(o.Domains...),
			Email:      o.Email,
			Client:     client,
		},
		domains: slices.Clone(o.Domains),
	}, nil
}

// ServerConfig is the base TLS configuration with the ACME certificates. A
// client that sends no server name (FTP clients often do not) gets the
// certificate of the first domain. The HTTPS listener adds ALPNProtos to
// its NextProtos, which answers TLS-ALPN-01 challenges (RFC 8737).
func (a *ACME) ServerConfig() *tls.Config {
	c := baseConfig()
	c.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" {
			h := *hello
			h.ServerName = a.domains[0]
			hello = &h
		}
		return a.m.GetCertificate(hello)
	}
	return c
}

// ALPNProtos are the protocols the HTTPS listener offers besides HTTP/1.1
// for the TLS-ALPN-01 challenge.
func (a *ACME) ALPNProtos() []string { return []string{acme.ALPNProto} }

// HTTPHandler answers HTTP-01 challenges and passes every other request to
// fallback.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler { return a.m.HTTPHandler(fallback) }
