package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

const auditPass = "Audit-S3cret-pw"

// auditFTP drives Python's ftplib through one scenario with explicit FTPS:
// a wrong password on a first connection, then on a second a login,
// upload, download, rename, delete, mkdir, rmdir and a download through a
// link out of the home (refused).
const auditFTP = `
import ftplib, ssl, sys
host, port, user, pw, local = sys.argv[1:6]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx)
f.connect(host, int(port))
try:
    f.login(user, "wrong")
except ftplib.error_perm:
    pass
f.close()
f = ftplib.FTP_TLS(context=ctx)
f.connect(host, int(port))
f.login(user, pw)
f.prot_p()
with open(local, "rb") as fp:
    f.storbinary("STOR ftp-up.bin", fp)
f.retrbinary("RETR ftp-up.bin", lambda b: None)
f.rename("ftp-up.bin", "ftp-moved.bin")
f.delete("ftp-moved.bin")
f.mkd("ftp-dir")
f.rmd("ftp-dir")
try:
    f.retrbinary("RETR out/secret.txt", lambda b: None)
    print("ESCAPED")
except ftplib.error_perm:
    pass
f.quit()
`

// auditLine is an audit line without what changes from run to run (time,
// session id, client port, duration).
func auditLine(l map[string]any) string {
	s := func(k string) string { v, _ := l[k].(string); return v }
	out := s("event") + " user=" + s("user")
	for _, k := range []string{"method", "path", "target", "result", "reason"} {
		if v := s(k); v != "" {
			out += " " + k + "=" + v
		}
	}
	if b, ok := l["bytes"].(float64); ok {
		out += " bytes=" + strconv.FormatInt(int64(b), 10)
	}
	if v := s("sha256"); v != "" {
		out += " sha256=" + v[:8]
	}
	return out
}

func readAudit(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line is not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

// TestAuditLog: one scenario per protocol with a real client (Python's
// ftplib, OpenSSH sftp, curl) — a failed login, a login, upload, download,
// rename, delete, mkdir, rmdir and a refused escape — writes exactly the
// expected lines to audit.jsonl, each with an RFC 3339 UTC time, a
// session id and the client's address; whole-file transfers carry the
// file's SHA-256; neither the password nor the bearer token appears.
func TestAuditLog(t *testing.T) {
	testutil.Need(t, "python3", "sftp", "sshpass", "curl")
	s := newServer(t, func(c *config.Config) {
		c.FTP.TLSSessionReuse = "off"
		c.AuditSHA256 = true
		// Three escapes at the default weight of 5 would ban the address
		// before the HTTPS part (TestBanPersists tests the ban).
		c.Lockout.EscapeWeight = 1
	})
	home := s.addUser("alice", auditPass)
	s.start()
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.txt"), []byte("TOP SECRET"))
	os.Symlink(outside, filepath.Join(home, "out"))
	data := testutil.RandomBytes(1<<20+3, 11)
	local := writeFile(t, filepath.Join(t.TempDir(), "up.bin"), data)
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])[:8]
	n := strconv.Itoa(len(data))

	// FTP
	script := writeFile(t, filepath.Join(t.TempDir(), "audit_ftp.py"), []byte(auditFTP))
	if out, err := run(t, "", "python3", script, s.host(), strconv.Itoa(s.Cfg.FTP.Port), "alice", auditPass, local); err != nil || strings.Contains(out, "ESCAPED") {
		t.Fatalf("ftplib: %v\n%s", err, out)
	}
	// SFTP
	sc := newSFTPClient(t, s)
	if out, err := sc.batch("alice", "", "wrong", nil, "ls"); err == nil {
		t.Fatalf("sftp with a wrong password logged in:\n%s", out)
	}
	down := filepath.Join(t.TempDir(), "down")
	if out, err := sc.batch("alice", "", auditPass, nil, "put "+local+" sftp-up.bin", "get sftp-up.bin "+down, "rename sftp-up.bin sftp-moved.bin",
		"rm sftp-moved.bin", "mkdir sftp-dir", "rmdir sftp-dir", "-get out/secret.txt "+down+".secret"); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	// HTTPS: every curl is a connection of its own, so a session each.
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	api := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/"
	web := func(wantCode string, args ...string) string {
		t.Helper()
		out, err := run(t, "", "curl", append([]string{"-sS", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}"}, args...)...)
		if err != nil || out != wantCode {
			t.Fatalf("curl %v: %v %q, want %s", args, err, out, wantCode)
		}
		return out
	}
	user := "alice:" + auditPass
	web("401", "-u", "alice:wrong", api+"files/")
	tokOut, err := run(t, "", "curl", "-sS", "--fail", "--cacert", cert, "-u", user, "-X", "POST", api+"token")
	var tok struct{ Token string }
	if err != nil || json.Unmarshal([]byte(tokOut), &tok) != nil || tok.Token == "" {
		t.Fatalf("token: %v %s", err, tokOut)
	}
	web("201", "-u", user, "-T", local, api+"files/web-up.bin")
	web("200", "-H", "Authorization: Bearer "+tok.Token, api+"files/web-up.bin")
	web("204", "-u", user, "-X", "POST", api+"files/web-up.bin?op=rename&to=/web-moved.bin")
	web("204", "-u", user, "-X", "DELETE", api+"files/web-moved.bin")
	web("201", "-u", user, "-X", "POST", api+"files/web-dir?op=mkdir")
	web("204", "-u", user, "-X", "DELETE", api+"files/web-dir")
	web("403", "-u", user, api+"files/out/secret.txt")

	want := map[string][]string{
		"ftp": {
			"login.failed user=alice method=password reason=denied",
			"login.ok user=alice method=password",
			"upload user=alice path=/ftp-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"download user=alice path=/ftp-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"rename user=alice path=/ftp-up.bin target=/ftp-moved.bin result=ok",
			"delete user=alice path=/ftp-moved.bin result=ok",
			"mkdir user=alice path=/ftp-dir result=ok",
			"rmdir user=alice path=/ftp-dir result=ok",
			"refused user=alice path=/out/secret.txt reason=outside the home",
			"session.end user=alice method=password",
		},
		"sftp": {
			"login.failed user=alice method=password reason=denied",
			"login.ok user=alice method=password",
			"upload user=alice path=/sftp-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"download user=alice path=/sftp-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"rename user=alice path=/sftp-up.bin target=/sftp-moved.bin result=ok",
			"delete user=alice path=/sftp-moved.bin result=ok",
			"mkdir user=alice path=/sftp-dir result=ok",
			"setstat user=alice path=/sftp-dir result=ok", // OpenSSH's mkdir sends the mode
			"rmdir user=alice path=/sftp-dir result=ok",
			"refused user=alice path=/out/secret.txt reason=outside the home",
			"session.end user=alice method=password",
		},
		"https": {
			"login.failed user=alice method=password reason=denied",
			"login.ok user=alice method=basic", "session.end user=alice method=basic", // the token
			"login.ok user=alice method=basic",
			"upload user=alice path=/web-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"session.end user=alice method=basic",
			"login.ok user=alice method=bearer",
			"download user=alice path=/web-up.bin result=ok bytes=" + n + " sha256=" + sum,
			"session.end user=alice method=bearer",
			"login.ok user=alice method=basic",
			"rename user=alice path=/web-up.bin target=/web-moved.bin result=ok",
			"session.end user=alice method=basic",
			"login.ok user=alice method=basic",
			"delete user=alice path=/web-moved.bin result=ok",
			"session.end user=alice method=basic",
			"login.ok user=alice method=basic",
			"mkdir user=alice path=/web-dir result=ok",
			"session.end user=alice method=basic",
			"login.ok user=alice method=basic",
			"rmdir user=alice path=/web-dir result=ok",
			"session.end user=alice method=basic",
			"login.ok user=alice method=basic",
			"refused user=alice path=/out/secret.txt reason=outside the home",
			"session.end user=alice method=basic",
		},
	}
	path := filepath.Join(s.Cfg.DataDir, "audit.jsonl")
	var lines []map[string]any
	// session.end is written when the server has seen the connection
	// close, a moment after the client exits.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		lines = readAudit(t, path)
		if len(lines) >= len(want["ftp"])+len(want["sftp"])+len(want["https"]) || time.Now().After(deadline) {
			break
		}
	}
	got := map[string][]string{}
	for _, l := range lines {
		proto, _ := l["protocol"].(string)
		got[proto] = append(got[proto], auditLine(l))
		tm, err := time.Parse(time.RFC3339, l["time"].(string))
		if err != nil || !strings.HasSuffix(l["time"].(string), "Z") || time.Since(tm) > time.Minute {
			t.Errorf("time %v: not RFC 3339 UTC of now (%v)", l["time"], err)
		}
		if sid, _ := l["session"].(float64); sid == 0 {
			t.Errorf("no session id: %v", l)
		}
		if r, _ := l["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
			t.Errorf("remote %q", r)
		}
	}
	for _, proto := range []string{"ftp", "sftp", "https"} {
		if g, w := strings.Join(got[proto], "\n"), strings.Join(want[proto], "\n"); g != w {
			t.Errorf("%s audit lines:\n%s\nwant:\n%s", proto, g, w)
		}
	}
	if len(got) != 3 {
		t.Errorf("protocols in the audit log: %v", got)
	}
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{auditPass, tok.Token} {
		if strings.Contains(string(raw), secret) || strings.Contains(s.Logs(), secret) {
			t.Errorf("a secret (%d characters) is in the audit log or the server log", len(secret))
		}
	}
	if t.Failed() {
		fmt.Println(string(raw))
	}

	// logrotate: the file is renamed, SIGHUP makes the server open a new
	// one, and nothing is written to the old one any more.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	s.signal(syscall.SIGHUP)
	if !s.waitLog("audit log reopened", 5*time.Second) {
		t.Fatalf("no reopen logged:\n%s", s.Logs())
	}
	web("200", "-u", user, api+"files/")
	lines = nil
	for deadline := time.Now().Add(5 * time.Second); len(lines) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		lines = readAudit(t, path)
	}
	if len(lines) != 2 || auditLine(lines[0]) != "login.ok user=alice method=basic" {
		t.Errorf("after SIGHUP the new file holds %v", lines)
	}
	if old := readAudit(t, path+".1"); len(old) != len(got["ftp"])+len(got["sftp"])+len(got["https"]) {
		t.Errorf("the renamed file grew after SIGHUP: %d lines", len(old))
	}
}
