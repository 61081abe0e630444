package certs

import (
	"bytes"
	"crypto/x509"
	"testing"
)

func TestGeneratedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	c1, gen, err := Load("", "", dir, []string{"ftp.example.org", "203.0.113.7"})
	if err != nil || !gen {
		t.Fatalf("first load: generated=%v err=%v", gen, err)
	}
	c2, gen, err := Load("", "", dir, nil)
	if err != nil || gen {
		t.Fatalf("second load: generated=%v err=%v", gen, err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("certificate changed between starts")
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("ftp.example.org"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("203.0.113.7"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if fp := Fingerprint(c1.Certificate[0]); len(fp) != 95 {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestLoadMissingFiles(t *testing.T) {
	if _, _, err := Load("/nonexistent/cert.pem", "/nonexistent/key.pem", t.TempDir(), nil); err == nil {
		t.Fatal("missing cert_file accepted")
	}
}
