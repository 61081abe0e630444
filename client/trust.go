package client

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// knownHostsPath is the trust-on-first-use file for TLS certificates.
func (o *Options) knownHostsPath() string {
	if o.KnownHosts != "" {
		return o.KnownHosts
	}
	if p := os.Getenv("FERRY_KNOWN_HOSTS"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = filepath.Join(homeDir(), ".config")
	}
	return filepath.Join(dir, "ferry", "known_hosts")
}

// tlsConfig is the TLS configuration for a server. Its session cache is
// shared by every connection made with it (or a Clone), so FTP data
// connections resume the control connection's session.
func (o *Options) tlsConfig(t Target) *tls.Config {
	return &tls.Config{
		ServerName:         t.Host,
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
		MinVersion:         tls.VersionTLS12,
		// Verification is done in VerifyConnection: system roots first,
		// then the trust-on-first-use record.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if o.Insecure {
				return nil
			}
			return o.verifyCert(t, cs.PeerCertificates)
		},
	}
}

// fingerprint is the SHA-256 of a certificate, as written in the
// known-hosts file.
func fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (o *Options) verifyCert(t Target, certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return withKind(ErrTrust, errors.New("server sent no certificate"))
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: t.Host, Intermediates: inter}); err == nil {
		return nil
	}
	key := t.Addr()
	got := fingerprint(certs[0])
	file := o.knownHostsPath()
	want, line, err := lookupKnown(file, key)
	if err != nil {
		return withKind(ErrTrust, fmt.Errorf("reading %s: %w", file, err))
	}
	switch {
	case want == got:
		return nil
	case want != "":
		return withKind(ErrTrust, fmt.Errorf("WARNING: the certificate of %s has CHANGED since it was first trusted "+
			"(known: %s, now: %s). Someone may be intercepting the connection. If the server's certificate was "+
			"replaced on purpose, delete line %d of %s and connect again", key, want, got, line, file))
	}
	if err := appendKnown(file, key, got); err != nil {
		return withKind(ErrTrust, fmt.Errorf("recording the certificate of %s: %w", key, err))
	}
	o.notice("certificate of %s is not signed by a trusted authority; trusting it on first use (%s), recorded in %s", key, got, file)
	return nil
}

// lookupKnown finds the fingerprint recorded for key and its line number.
func lookupKnown(file, key string) (string, int, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == key {
			return fields[1], n, nil
		}
	}
	return "", 0, sc.Err()
}

func appendKnown(file, key, fp string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", key, fp); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
