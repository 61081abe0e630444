package ftp

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestHashCommands: HASH of a 100 MiB file equals sha256sum's, OPTS HASH
// switches the algorithm, the X commands answer 250, a folder and a
// missing file get the table's 550, and ABOR stops a running hash. While
// one session hashes, another is answered at once.
func TestHashCommands(t *testing.T) {
	e := newEnv(t, nil)
	big := testutil.RandomBytes(100<<20, 7)
	if err := os.WriteFile(filepath.Join(e.home, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(e.home, "dir"), 0o755)
	c := e.ready()
	if r := c.do("FEAT", 211); !strings.Contains(r.Text(), "HASH SHA-256*;SHA-1;MD5") {
		t.Errorf("FEAT lacks HASH: %q", r.Text())
	}
	s256 := sha256.Sum256(big)
	other := e.ready()
	c.send("HASH big.bin")
	start := time.Now()
	other.do("NOOP", 200) // another session, while this one hashes
	if d := time.Since(start); d > time.Second {
		t.Errorf("NOOP of another session took %v during a HASH", d)
	}
	r := c.expect(213)
	if want := "SHA-256 0-104857600 " + hex.EncodeToString(s256[:]) + " big.bin"; r.Text() != want {
		t.Errorf("HASH: %q, want %q", r.Text(), want)
	}
	c.do("OPTS HASH SHA-1", 200)
	s1 := sha1.Sum(big)
	if r := c.do("HASH big.bin", 213); !strings.Contains(r.Text(), hex.EncodeToString(s1[:])) {
		t.Errorf("HASH after OPTS HASH SHA-1: %q", r.Text())
	}
	c.do("OPTS HASH CRC32", 501)
	m := md5.Sum(big)
	if r := c.do("XMD5 big.bin", 250); r.Text() != hex.EncodeToString(m[:]) {
		t.Errorf("XMD5: %q", r.Text())
	}
	c.do("XSHA256 dir", 550)
	c.do("HASH missing", 550)
	// RFC 959 §4.1.3: the aborted command's reply (426), then ABOR's 226.
	c.send("HASH big.bin")
	c.send("ABOR")
	if r := c.expect(426); !strings.Contains(r.Text(), "aborted") {
		t.Errorf("HASH after ABOR: %q", r.Text())
	}
	c.expect(226)
	c.do("NOOP", 200)
}

// TestSiteChmodWithLftp: lftp's chmod sends SITE CHMOD; SITE HELP lists
// what exists; a read-only account is refused.
func TestSiteChmodWithLftp(t *testing.T) {
	testutil.Need(t, "lftp")
	e := newEnv(t, nil)
	f := filepath.Join(e.home, "f.txt")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	script := "set ssl:verify-certificate no; set net:max-retries 1; chmod 600 f.txt; quote SITE HELP; bye"
	out, err := exec.CommandContext(ctx, "lftp", "-u", "alice,"+testserver.Password, "-e", script, "ftp://"+e.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("f.txt after chmod 600: %v %v", fi.Mode(), err)
	}
	if !strings.Contains(string(out), "CHMOD HELP") {
		t.Errorf("SITE HELP: %s", out)
	}
	if !e.waitLog("event=setstat path=/f.txt result=ok mode=0600") {
		t.Error("no setstat event")
	}
	c := e.ready()
	c.do("SITE CHMOD 7z7 f.txt", 501)
	c.do("SITE CHMOD 644 missing", 550)
	c.do("SITE EXEC ls", 504)
	if err := os.WriteFile(filepath.Join(e.Home("carol"), "f.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro := e.dial()
	ro.secure(clientTLS(0))
	ro.login("carol")
	if r := ro.do("SITE CHMOD 600 f.txt", 550); !strings.Contains(r.Text(), "read-only") {
		t.Errorf("SITE CHMOD as read-only: %q", r.Text())
	}
}
