package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// TestGeneratedRenewedBeforeExpiry: a generated certificate with less than
// 30 days left is replaced at start by one valid for a year; a fresh one
// lives a year, not ten.
func TestGeneratedRenewedBeforeExpiry(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(0, 0, 10)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(filepath.Join(dir, GeneratedCert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, GeneratedKey), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	cert, generated, err := Load("", "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	left := time.Until(cert.Leaf.NotAfter)
	if !generated || left < 360*24*time.Hour || left > 366*24*time.Hour {
		t.Fatalf("generated=%v, %v left; want a new certificate for a year", generated, left.Round(time.Hour))
	}
	if _, generated, _ := Load("", "", dir, nil); generated {
		t.Fatal("a certificate with a year left was replaced")
	}
}
