package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestQuota: with 1 MiB of quota left, a 2 MiB upload is refused over
// FTPS (552, curl), SFTP (OpenSSH) and HTTPS (507, curl, before any data
// since the size is known) and leaves nothing under its name nor in the
// temporary folder; a 0.5 MiB upload succeeds; after a restart the usage
// is still counted (ferry user set shows it, and a 0.6 MiB upload no
// longer fits); ferry user rescan counts the home again.
func TestQuota(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	s := newServer(t, nil)
	const pw = "quota-password"
	home := s.addUser("alice", pw)
	if out, err := s.ferry("", "user", "set", "alice", "--quota-bytes", "1M"); err != nil {
		t.Fatalf("ferry user set: %v\n%s", err, out)
	}
	s.start()
	dir := t.TempDir()
	big := writeFile(t, filepath.Join(dir, "big.bin"), testutil.RandomBytes(2<<20, 1))
	half := writeFile(t, filepath.Join(dir, "half.bin"), testutil.RandomBytes(512<<10, 2))
	more := writeFile(t, filepath.Join(dir, "more.bin"), testutil.RandomBytes(600<<10, 3))
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	https := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	ftpURL := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/"
	nothingLeft := func(name string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(home, name)); err == nil {
			t.Errorf("%s exists after a refused upload", name)
		}
		tmp, _ := os.ReadDir(filepath.Join(home, ".ferry-tmp"))
		if len(tmp) > 0 {
			t.Errorf("left in the temporary folder: %v", tmp)
		}
	}
	ftpPut := func(local, name string) (string, error) {
		return run(t, "", "curl", "-sS", "-k", "--ssl-reqd", "-u", "alice:"+pw, "-T", local, ftpURL+name)
	}

	// curl's words for 552: "(70) Exceeded storage allocation".
	if out, err := ftpPut(big, "ftp-big.bin"); err == nil || !strings.Contains(out, "(70)") {
		t.Errorf("FTPS upload past the quota: %v\n%s", err, out)
	}
	nothingLeft("ftp-big.bin")
	sc := newSFTPClient(t, s)
	if out, err := sc.batch("alice", "", pw, nil, "put "+big+" sftp-big.bin"); err == nil {
		t.Errorf("SFTP upload past the quota succeeded:\n%s", out)
	}
	nothingLeft("sftp-big.bin")
	out, err := run(t, "", "curl", "-sS", "--cacert", cert, "-u", "alice:"+pw, "-T", big, "-w", "%{http_code}", https+"web-big.bin")
	if err != nil || !strings.HasSuffix(out, "507") || !strings.Contains(out, "quota exceeded") {
		t.Errorf("HTTPS upload past the quota: %v %q", err, out)
	}
	nothingLeft("web-big.bin")

	if out, err := sc.batch("alice", "", pw, nil, "put "+half+" half.bin"); err != nil {
		t.Fatalf("an upload within the quota: %v\n%s", err, out)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s.start()
	if out, err := ftpPut(more, "more.bin"); err == nil || !strings.Contains(out, "(70)") {
		t.Errorf("after a restart, 0.6 MiB more than 0.5 of 1 MiB used: %v\n%s", err, out)
	}
	nothingLeft("more.bin")
	show, err := s.ferry("", "user", "set", "alice", "--quota-files", "10")
	if want := "used " + strconv.Itoa(512<<10) + " bytes, 1 files"; err != nil || !strings.Contains(show, want) {
		t.Errorf("usage after a restart: %v %q, want %q", err, show, want)
	}
	writeFile(t, filepath.Join(home, "behind-ferrys-back"), make([]byte, 1000))
	if out, err := s.ferry("", "user", "rescan", "alice"); err != nil || !strings.Contains(out, strconv.Itoa(512<<10+1000)+" bytes in 2 files") {
		t.Errorf("ferry user rescan: %v\n%s", err, out)
	}
}
