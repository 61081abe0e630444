package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestOneUserOneFileEveryProtocol proves the design's promise: one set of
// users and one set of files behind every protocol. A file uploaded over
// explicit FTPS is read back over SFTP and over HTTPS, and a file uploaded
// over SFTP is read back over implicit FTPS.
func TestOneUserOneFileEveryProtocol(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	s := newServer(t, nil)
	const pw = "cross-protocol-pw"
	home := s.addUser("carol", pw)
	s.start()
	dir := t.TempDir()
	data := testutil.RandomBytes(1<<20+3, 11)
	local := filepath.Join(dir, "report ü.bin")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ftpURL := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/"
	if out, err := run(t, "", "curl", "-sS", "--ssl-reqd", "-k", "-u", "carol:"+pw, "-T", local, ftpURL+"report%20%C3%BC.bin"); err != nil {
		t.Fatalf("explicit FTPS upload: %v\n%s", err, out)
	}
	if got, err := os.ReadFile(filepath.Join(home, "report ü.bin")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file on disk after the FTPS upload differs: %v", err)
	}

	sc := newSFTPClient(t, s)
	viaSFTP := filepath.Join(dir, "via-sftp.bin")
	if out, err := sc.batch("carol", "", pw, nil, "get \"report ü.bin\" "+viaSFTP, "put \""+local+"\" from-sftp.bin"); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(viaSFTP); !bytes.Equal(got, data) {
		t.Fatal("the FTPS upload read over SFTP differs")
	}

	viaHTTPS := filepath.Join(dir, "via-https.bin")
	if out, err := run(t, "", "curl", "-sS", "--fail-with-body", "-k", "-u", "carol:"+pw, "-o", viaHTTPS,
		"https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/report%20%C3%BC.bin"); err != nil {
		t.Fatalf("https download: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(viaHTTPS); !bytes.Equal(got, data) {
		t.Fatal("the FTPS upload read over HTTPS differs")
	}

	viaImplicit := filepath.Join(dir, "via-implicit.bin")
	if out, err := run(t, "", "curl", "-sS", "-k", "-u", "carol:"+pw, "-o", viaImplicit,
		"ftps://"+s.addr(s.Cfg.FTP.ImplicitPort)+"/from-sftp.bin"); err != nil {
		t.Fatalf("implicit FTPS download: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(viaImplicit); !bytes.Equal(got, data) {
		t.Fatal("the SFTP upload read over implicit FTPS differs")
	}
}

// TestLockoutSharedAcrossProtocols guesses passwords over FTP and HTTPS;
// past the limit the address is refused everywhere: FTP answers 421 at
// connect and SFTP refuses even the right password.
func TestLockoutSharedAcrossProtocols(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	s := newServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 3
		c.Lockout.Window = config.Duration{Duration: time.Minute}
		c.Lockout.Duration = config.Duration{Duration: time.Minute}
	})
	const pw = "right-password"
	s.addUser("dave", pw)
	s.start()
	ftpURL := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/"
	for i := 0; i < 2; i++ {
		if out, err := run(t, "", "curl", "-sS", "--ssl-reqd", "-k", "-u", "dave:wrong", ftpURL); err == nil {
			t.Fatalf("wrong password accepted over FTP:\n%s", out)
		}
	}
	code, _ := run(t, "", "curl", "-s", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-u", "dave:wrong",
		"https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/")
	if code != "401" && code != "403" && code != "429" {
		t.Fatalf("wrong password over HTTPS answered %q", code)
	}

	c, err := net.DialTimeout("tcp", s.addr(s.Cfg.FTP.Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, _ := c.Read(buf)
	c.Close()
	if !strings.HasPrefix(string(buf[:n]), "421") {
		t.Fatalf("locked-out address greeted over FTP with %q, want 421", buf[:n])
	}
	if out, err := newSFTPClient(t, s).batch("dave", "", pw, nil, "pwd"); err == nil {
		t.Fatalf("locked-out address logged in over SFTP with the right password:\n%s", out)
	}
	if out, err := run(t, "", "curl", "-sS", "--ssl-reqd", "-k", "-u", "dave:"+pw, ftpURL); err == nil {
		t.Fatalf("locked-out address logged in over FTP:\n%s", out)
	}
	if !strings.Contains(s.Logs(), strconv.Itoa(3)) {
		t.Logf("server log:\n%s", s.Logs())
	}
}
