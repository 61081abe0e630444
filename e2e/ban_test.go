package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// banFTP makes n FTPS logins with a wrong password from src, then
// connects once more and prints the greeting or the refusal.
const banFTP = `
import ftplib, ssl, sys
host, port, src, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for i in range(n):
    f = ftplib.FTP_TLS(context=ctx)
    try:
        f.connect(host, port, source_address=(src, 0))
        f.login("alice", "wrong-%d" % i)
    except ftplib.all_errors as e:
        pass
    f.close()
f = ftplib.FTP(timeout=10)
try:
    print("GREETING", f.connect(host, port, source_address=(src, 0)))
except ftplib.all_errors as e:
    print("REFUSED", e)
`

// TestBanPersists: ten wrong passwords over FTP ban the address; after
// kill -9 and a restart it is still refused over FTP (421 naming the
// end), SFTP (plain OpenSSH prints the disconnect message) and HTTPS (429, Retry-After);
// `ferry ban del` lifts it within seconds without a restart; an address
// on lockout.allow is never banned.
func TestBanPersists(t *testing.T) {
	testutil.Need(t, "python3", "ssh", "curl")
	s := newServer(t, func(c *config.Config) { c.Lockout.Allow = []string{"127.0.0.2"} })
	s.addUser("alice", "right-password")
	s.start()
	script := writeFile(t, filepath.Join(t.TempDir(), "ban_ftp.py"), []byte(banFTP))
	ftpTry := func(src string, n int) string {
		t.Helper()
		out, err := run(t, "", "python3", script, s.host(), strconv.Itoa(s.Cfg.FTP.Port), src, strconv.Itoa(n))
		if err != nil {
			t.Fatalf("ftplib: %v\n%s", err, out)
		}
		return out
	}
	if out := ftpTry("127.0.0.1", 10); !strings.Contains(out, "REFUSED 421") || !strings.Contains(out, "banned until") {
		t.Fatalf("after ten wrong passwords over FTP:\n%s", out)
	}
	if out := ftpTry("127.0.0.2", 12); !strings.Contains(out, "GREETING 220") {
		t.Fatalf("an allowed address was refused:\n%s", out)
	}

	s.kill() // SIGKILL: nothing is saved on the way out
	s.start()
	if out := ftpTry("127.0.0.1", 0); !strings.Contains(out, "REFUSED 421") || !strings.Contains(out, "banned until") {
		t.Fatalf("FTP after kill -9 and restart:\n%s", out)
	}
	ssh := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-p", strconv.Itoa(s.Cfg.SFTP.Port), "alice@"+s.host(), "true")
	out, _ := ssh.CombinedOutput()
	if !strings.Contains(string(out), "Received disconnect") || !strings.Contains(string(out), "ferry: your address is banned until") {
		t.Fatalf("OpenSSH does not show the ban:\n%s", out)
	}
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	url := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	hout, err := run(t, "", "curl", "-sS", "-i", "--cacert", cert, "-u", "alice:right-password", url)
	if err != nil || !strings.HasPrefix(hout, "HTTP/2 429") && !strings.HasPrefix(hout, "HTTP/1.1 429") {
		t.Fatalf("HTTPS after restart: %v\n%s", err, hout)
	}
	retry := -1
	for _, l := range strings.Split(hout, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok && strings.EqualFold(k, "retry-after") {
			retry, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if retry <= 0 || retry > int(config.Default().Lockout.Duration.Seconds())+1 {
		t.Errorf("Retry-After %d (-1: none):\n%s", retry, hout)
	}

	list, err := s.ferry("", "ban", "list")
	if err != nil || !strings.Contains(list, "127.0.0.1/32") || strings.Contains(list, "127.0.0.2") {
		t.Fatalf("ferry ban list: %v\n%s", err, list)
	}
	if out, err := s.ferry("", "ban", "del", "127.0.0.1"); err != nil {
		t.Fatalf("ferry ban del: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if out := ftpTry("127.0.0.1", 0); strings.Contains(out, "GREETING 220") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ferry ban del did not reach the running server within 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := run(t, "", "curl", "-sS", "--fail", "--cacert", cert, "-u", "alice:right-password", "-o", "/dev/null", url); err != nil {
		t.Fatalf("HTTPS after ferry ban del: %v\n%s", err, out)
	}
}

// TestAccountThrottle: wrong passwords for alice from one address slow
// alice's logins from every address, but the real alice, from another
// address, still logs in (slowly), and that address is not banned.
func TestAccountThrottle(t *testing.T) {
	testutil.Need(t, "python3", "curl")
	s := newServer(t, func(c *config.Config) {
		c.Lockout.MaxFailures = 5
		c.Lockout.UserFailures = 4
		c.Lockout.UserDelay = config.Duration{Duration: 1500 * time.Millisecond}
	})
	s.addUser("alice", "right-password")
	s.start()
	script := writeFile(t, filepath.Join(t.TempDir(), "ban_ftp.py"), []byte(banFTP))
	for _, src := range []string{"127.0.0.3", "127.0.0.4"} {
		if out, err := run(t, "", "python3", script, s.host(), strconv.Itoa(s.Cfg.FTP.Port), src, "2"); err != nil {
			t.Fatalf("ftplib: %v\n%s", err, out)
		}
	}
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	url := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	start := time.Now()
	out, err := run(t, "", "curl", "-sS", "--fail", "--cacert", cert, "--interface", "127.0.0.5", "-u", "alice:right-password", "-o", "/dev/null", url)
	if err != nil {
		t.Fatalf("the real user is locked out: %v\n%s", err, out)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("the login took %v: not slowed after four failures", took)
	}
}
