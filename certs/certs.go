package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Generated names the files of the self-signed certificate in the data
// directory.
const (
	GeneratedCert = "tls-cert.pem"
	GeneratedKey  = "tls-key.pem"
)

// Load returns the certificate from certFile/keyFile, or, when both are
// empty, the self-signed one in dataDir (generated on first use for the
// given host names and addresses). generated reports a new certificate.
func Load(certFile, keyFile, dataDir string, hosts []string) (cert tls.Certificate, generated bool, err error) {
	if certFile != "" {
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return cert, false, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
		}
		return cert, false, nil
	}
	certFile, keyFile = filepath.Join(dataDir, GeneratedCert), filepath.Join(dataDir, GeneratedKey)
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err == nil && time.Until(cert.Leaf.NotAfter) > renewBefore {
		return cert, false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return cert, false, fmt.Errorf("tls: load generated certificate %s: %w", certFile, err)
	}
	if err := generate(certFile, keyFile, hosts); err != nil {
		return cert, false, err
	}
	cert, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, false, fmt.Errorf("tls: load generated certificate: %w", err)
	}
	return cert, true, nil
}

// The generated certificate lives one year, as browsers accept for a
// certificate they are told to trust, and is replaced at start when it has
// less than renewBefore left (its fingerprint changes: clients that pinned
// it are asked again).
const (
	selfSignedLifetime = 365 * 24 * time.Hour
	renewBefore        = 30 * 24 * time.Hour
)

func generate(certFile, keyFile string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	name, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ferry " + name, Organization: []string{"ferry self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1", name}, hosts...) {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: create certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := writeAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return writeAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeAtomic(name string, data []byte, perm fs.FileMode) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("tls: write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("tls: write %s: %w", name, err)
	}
	return nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, as uppercase hex
// pairs joined by colons (the form browsers and openssl show).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// ServerConfig is the base TLS configuration of every server: TLS 1.2 or
// newer, AEAD cipher suites only for TLS 1.2.
func ServerConfig(cert tls.Certificate) *tls.Config {
	c := baseConfig()
	c.Certificates = []tls.Certificate{cert}
	return c
}

// Holder hands the current certificate to every TLS handshake, so that a
// renewed certificate (a reload) is served from the next handshake on,
// without a restart and without touching connections already up.
type Holder struct {
	cur atomic.Pointer[tls.Certificate]
}

// NewHolder holds cert.
func NewHolder(cert tls.Certificate) *Holder {
	h := &Holder{}
	h.Set(cert)
	return h
}

// Set makes cert the certificate of the next handshakes.
func (h *Holder) Set(cert tls.Certificate) { h.cur.Store(&cert) }

// ServerConfig is ServerConfig's base with the held certificate; clones of
// it (per FTP session, per listener) follow Set too.
func (h *Holder) ServerConfig() *tls.Config {
	c := baseConfig()
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return h.cur.Load(), nil }
	return c
}

func baseConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
