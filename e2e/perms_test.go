package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// ftpsScript runs FTP commands over explicit FTPS with Python's ftplib
// and prints "COMMAND -> CODE[ DATA]" for each, refusals included.
const ftpsScript = `
import ftplib, io, ssl, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
class Client(ftplib.FTP_TLS):
    # Data connections resume the control connection's TLS session, as
    # the server requires.
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
f = Client(context=ctx, timeout=20)
f.connect(host, port)
f.login(user, pw)
f.prot_p()
for a in sys.argv[5:]:
    op, _, arg = a.partition(" ")
    try:
        if op == "RETR":
            buf = io.BytesIO()
            r = f.retrbinary(a, buf.write)
            print(a, "->", r[:3], buf.getvalue().decode())
        elif op in ("STOR", "APPE"):
            print(a, "->", f.storbinary(a, io.BytesIO(b"ftp data"))[:3])
        elif op == "RESTSTOR":
            print(a, "->", f.storbinary("STOR " + arg, io.BytesIO(b"x"), rest=1)[:3])
        elif op == "LIST":
            lines = []
            r = f.retrlines(a, lines.append)
            print(a, "->", r[:3], "|".join(lines))
        elif op == "RENAME":
            src, dst = arg.split(" ")
            print(a, "->", f.rename(src, dst)[:3])
        else:
            print(a, "->", f.sendcmd(a)[:3])
    except ftplib.all_errors as e:
        print(a, "->", str(e)[:3])
f.quit()
`

// TestFolderRights: one partner account with /outgoing list,download and
// /incoming upload (and / list), driven over FTPS (ftplib), SFTP
// (OpenSSH), HTTPS (curl) and WebDAV (curl): every right is granted or
// refused with the protocol's code, and an upload into /incoming cannot
// be read back, listed, overwritten, resumed or deleted.
func TestFolderRights(t *testing.T) {
	testutil.Need(t, "curl", "python3", "sftp", "sshpass")
	s := newServer(t, nil)
	const pw = "partner-password"
	home := s.addUser("partner", pw)
	for _, d := range []string{"outgoing", "incoming"} {
		os.MkdirAll(filepath.Join(home, d), 0o755)
	}
	writeFile(t, filepath.Join(home, "outgoing", "report.txt"), []byte("the report"))
	writeFile(t, filepath.Join(home, "incoming", "old.txt"), []byte("old"))
	for _, r := range [][]string{{"/outgoing", "list,download"}, {"/incoming", "upload"}, {"/", "list"}} {
		if out, err := s.ferry("", "user", "perm", "partner", r[0], r[1]); err != nil {
			t.Fatalf("ferry user perm: %v\n%s", err, out)
		}
	}
	if out, err := s.ferry("", "user", "perm", "partner", "/x", "read"); err == nil {
		t.Errorf("an unknown right was accepted:\n%s", out)
	}
	out, err := s.ferry("", "user", "perm", "partner")
	if err != nil || !strings.Contains(out, "/incoming") || !strings.Contains(out, "upload") || !strings.Contains(out, "list,download") {
		t.Fatalf("ferry user perm partner: %v\n%s", err, out)
	}
	s.start()
	unchanged := func() {
		t.Helper()
		sameFile(t, filepath.Join(home, "outgoing", "report.txt"), []byte("the report"))
		sameFile(t, filepath.Join(home, "incoming", "old.txt"), []byte("old"))
		if ents, _ := os.ReadDir(filepath.Join(home, "outgoing")); len(ents) != 1 {
			t.Errorf("outgoing holds %d entries", len(ents))
		}
	}

	t.Run("FTPS", func(t *testing.T) {
		script := writeFile(t, filepath.Join(t.TempDir(), "ftps.py"), []byte(ftpsScript))
		out, err := run(t, "", "python3", script, s.host(), strconv.Itoa(s.Cfg.FTP.Port), "partner", pw,
			"RETR /outgoing/report.txt", "LIST /outgoing", "HASH /outgoing/report.txt",
			"STOR /outgoing/new.txt", "DELE /outgoing/report.txt", "RENAME /outgoing/report.txt /outgoing/r.txt",
			"MKD /outgoing/d", "MKD /d",
			"STOR /incoming/ftp.txt", "RETR /incoming/ftp.txt", "LIST /incoming", "SIZE /incoming/ftp.txt",
			"HASH /incoming/old.txt", "DELE /incoming/ftp.txt", "STOR /incoming/ftp.txt", "APPE /incoming/old.txt",
			"RESTSTOR /incoming/old.txt", "RENAME /incoming/ftp.txt /incoming/x.txt", "RENAME /outgoing/report.txt /incoming/r.txt")
		if err != nil {
			t.Fatalf("ftplib: %v\n%s", err, out)
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			cmd, res, _ := strings.Cut(line, " -> ")
			got[cmd] = res
		}
		for cmd, want := range map[string]string{
			"RETR /outgoing/report.txt": "226 the report", "HASH /outgoing/report.txt": "213",
			"STOR /outgoing/new.txt": "550", "DELE /outgoing/report.txt": "550", "RENAME /outgoing/report.txt /outgoing/r.txt": "550",
			"MKD /outgoing/d": "550", "MKD /d": "550",
			"STOR /incoming/ftp.txt": "550", // the second one: an overwrite
			"RETR /incoming/ftp.txt": "550", "LIST /incoming": "226 ", "SIZE /incoming/ftp.txt": "550",
			"HASH /incoming/old.txt": "550", "DELE /incoming/ftp.txt": "550", "APPE /incoming/old.txt": "550",
			"RESTSTOR /incoming/old.txt": "550", "RENAME /incoming/ftp.txt /incoming/x.txt": "550",
			"RENAME /outgoing/report.txt /incoming/r.txt": "550",
		} {
			if got[cmd] != want {
				t.Errorf("%s -> %q, want %q", cmd, got[cmd], want)
			}
		}
		if !strings.Contains(got["LIST /outgoing"], "report.txt") {
			t.Errorf("LIST /outgoing: %q", got["LIST /outgoing"])
		}
		// The first STOR succeeded (the map holds the second's answer).
		sameFile(t, filepath.Join(home, "incoming", "ftp.txt"), []byte("ftp data"))
		if !strings.Contains(out, "STOR /incoming/ftp.txt -> 226") {
			t.Errorf("the first upload into /incoming was refused:\n%s", out)
		}
		unchanged()
	})

	t.Run("SFTP", func(t *testing.T) {
		sc := newSFTPClient(t, s)
		dir := t.TempDir()
		local := writeFile(t, filepath.Join(dir, "up.txt"), []byte("sftp data"))
		ok := func(cmd string) string {
			t.Helper()
			out, err := sc.batch("partner", "", pw, nil, cmd)
			if err != nil {
				t.Errorf("%s: %v\n%s", cmd, err, out)
			}
			return out
		}
		denied := func(cmd string) {
			t.Helper()
			out, err := sc.batch("partner", "", pw, nil, cmd)
			if err == nil || !strings.Contains(out, "Permission denied") {
				t.Errorf("%s: %v, want Permission denied\n%s", cmd, err, out)
			}
		}
		ok("get /outgoing/report.txt " + filepath.Join(dir, "report.txt"))
		sameFile(t, filepath.Join(dir, "report.txt"), []byte("the report"))
		if out := ok("ls /outgoing"); !strings.Contains(out, "report.txt") {
			t.Errorf("ls /outgoing:\n%s", out)
		}
		denied("put " + local + " /outgoing/new.txt")
		denied("rm /outgoing/report.txt")
		denied("rename /outgoing/report.txt /outgoing/r.txt")
		denied("mkdir /outgoing/d")
		denied("ln -s ../outgoing/report.txt /incoming/l")
		ok("put " + local + " /incoming/sftp.txt")
		sameFile(t, filepath.Join(home, "incoming", "sftp.txt"), []byte("sftp data"))
		// OpenSSH's get looks the name up first: refused, it says "not
		// found" (the server's log has the refusal).
		hidden := func(cmd string) {
			t.Helper()
			out, err := sc.batch("partner", "", pw, nil, cmd)
			if err == nil || !strings.Contains(out, "not found") && !strings.Contains(out, "Permission denied") {
				t.Errorf("%s: %v, want a refusal\n%s", cmd, err, out)
			}
		}
		hidden("get /incoming/sftp.txt " + filepath.Join(dir, "back.txt"))
		if out := ok("ls /incoming"); strings.Contains(out, "sftp.txt") || strings.Contains(out, "old.txt") {
			t.Errorf("ls /incoming shows its files:\n%s", out)
		}
		denied("rm /incoming/sftp.txt")
		denied("put " + local + " /incoming/sftp.txt")
		denied("reput " + local + " /incoming/old.txt")
		denied("chmod 600 /incoming/sftp.txt")
		// A hard link of a published file into the drop box is allowed
		// (upload there, download here) and grants no download there.
		ok("ln /outgoing/report.txt /incoming/hard.txt")
		hidden("get /incoming/hard.txt " + filepath.Join(dir, "hard.txt"))
		for _, f := range []string{"back.txt", "hard.txt"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s was downloaded from the drop box", f)
			}
		}
		sameFile(t, filepath.Join(home, "incoming", "sftp.txt"), []byte("sftp data"))
		unchanged()
	})

	t.Run("HTTPS", func(t *testing.T) {
		cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
		base := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort)
		local := writeFile(t, filepath.Join(t.TempDir(), "up.txt"), []byte("web data"))
		code := func(args ...string) (string, string) {
			t.Helper()
			out, err := run(t, "", "curl", append([]string{"-sS", "--cacert", cert, "-u", "partner:" + pw, "-w", "\n%{http_code}"}, args...)...)
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", args, err, out)
			}
			i := strings.LastIndex(out, "\n")
			return out[:i], out[i+1:]
		}
		for _, api := range []string{"/api/v1/files", "/dav"} {
			u := base + api
			expect := func(want string, args ...string) string {
				t.Helper()
				body, c := code(args...)
				if c != want {
					t.Errorf("%s %v: %s, want %s\n%s", api, args, c, want, body)
				}
				return body
			}
			name := "/incoming/" + strings.TrimPrefix(api, "/api/v1/") + ".txt"
			if body := expect("200", u+"/outgoing/report.txt"); body != "the report" {
				t.Errorf("%s download: %q", api, body)
			}
			expect("403", "-T", local, u+"/outgoing/new.txt")
			expect("403", "-X", "DELETE", u+"/outgoing/report.txt")
			expect("201", "-T", local, u+name)
			sameFile(t, filepath.Join(home, name), []byte("web data"))
			expect("403", u+name)
			expect("403", "-T", local, u+name)
			expect("403", "-X", "DELETE", u+name)
		}
		expect := func(want string, args ...string) string {
			t.Helper()
			body, c := code(args...)
			if c != want {
				t.Errorf("%v: %s, want %s\n%s", args, c, want, body)
			}
			return body
		}
		if body := expect("200", base+"/api/v1/files/incoming/"); strings.Contains(body, ".txt") {
			t.Errorf("the REST listing of /incoming shows files: %s", body)
		}
		expect("403", "-X", "POST", base+"/api/v1/files/outgoing/d?op=mkdir")
		expect("403", "-X", "POST", base+"/api/v1/files/incoming/files.txt?op=rename&to=/incoming/x.txt")
		if body := expect("207", "-X", "PROPFIND", "-H", "Depth: 1", base+"/dav/incoming/"); strings.Contains(body, ".txt") {
			t.Errorf("the WebDAV listing of /incoming shows files: %s", body)
		}
		expect("403", "-X", "MKCOL", base+"/dav/outgoing/d")
		expect("403", "-X", "MOVE", "-H", "Destination: "+base+"/dav/incoming/y.txt", base+"/dav/incoming/dav.txt")
		unchanged()
	})
	if !strings.Contains(s.Logs(), "event=refused") || !strings.Contains(s.Logs(), `reason="no upload right"`) {
		t.Error("no refused event with its reason in the log")
	}
}

// TestSharedFolder: one directory mounted in two accounts, read-write for
// ann and read-only for bob, without copies: what ann uploads bob
// downloads; bob's writes are refused; a move out of the virtual folder is
// refused as such; a mount of data_dir's parent is refused.
func TestSharedFolder(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	s := newServer(t, nil)
	const pw = "shared-password"
	s.addUser("ann", pw)
	bobHome := s.addUser("bob", pw)
	pub := filepath.Join(s.Dir, "published")
	os.MkdirAll(pub, 0o755)
	writeFile(t, filepath.Join(pub, "price-list.txt"), []byte("prices"))
	for _, args := range [][]string{{"ann", "/shared", pub}, {"bob", "/partners/shared", pub, "--read-only"}} {
		if out, err := s.ferry("", append([]string{"user", "mount"}, args...)...); err != nil {
			t.Fatalf("ferry user mount %v: %v\n%s", args, err, out)
		}
	}
	if out, err := s.ferry("", "user", "mount", "bob", "/bad", s.Dir); err == nil {
		t.Errorf("a directory holding data_dir was mounted:\n%s", out)
	}
	if out, err := s.ferry("", "user", "mount", "bob", "/bad", filepath.Join(s.Dir, "missing")); err == nil {
		t.Errorf("a missing directory was mounted:\n%s", out)
	}
	if out, err := s.ferry("", "user", "mount", "bob"); err != nil || !strings.Contains(out, "/partners/shared") || !strings.Contains(out, "read-only") {
		t.Errorf("ferry user mount bob: %v\n%s", err, out)
	}
	s.start()
	sc := newSFTPClient(t, s)
	dir := t.TempDir()
	local := writeFile(t, filepath.Join(dir, "new.txt"), []byte("from ann"))
	if out, err := sc.batch("ann", "", pw, nil, "put "+local+" /shared/new.txt", "ls /"); err != nil || !strings.Contains(out, "shared") {
		t.Fatalf("ann: %v\n%s", err, out)
	}
	sameFile(t, filepath.Join(pub, "new.txt"), []byte("from ann"))
	if out, err := sc.batch("bob", "", pw, nil, "ls /partners", "get /partners/shared/new.txt "+filepath.Join(dir, "got.txt")); err != nil || !strings.Contains(out, "shared") {
		t.Fatalf("bob: %v\n%s", err, out)
	}
	sameFile(t, filepath.Join(dir, "got.txt"), []byte("from ann"))
	if out, err := sc.batch("bob", "", pw, nil, "put "+local+" /partners/shared/bob.txt"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("bob wrote into his read-only virtual folder: %v\n%s", err, out)
	}
	if out, err := sc.batch("bob", "", pw, nil, "rm /partners/shared/price-list.txt"); err == nil {
		t.Errorf("bob deleted from his read-only virtual folder:\n%s", out)
	}
	if out, err := sc.batch("ann", "", pw, nil, "rename /shared/new.txt /mine.txt"); err == nil {
		t.Errorf("a rename out of the virtual folder succeeded:\n%s", out)
	}
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	out, err := run(t, "", "curl", "-sS", "--cacert", cert, "-u", "ann:"+pw, "-X", "POST", "-w", "%{http_code}",
		"https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/shared/new.txt?op=rename&to=/mine.txt")
	if err != nil || !strings.HasSuffix(out, "502") || !strings.Contains(out, "virtual folders") {
		t.Errorf("HTTPS rename out of the virtual folder: %v %q", err, out)
	}
	sameFile(t, filepath.Join(pub, "new.txt"), []byte("from ann"))
	sameFile(t, filepath.Join(pub, "price-list.txt"), []byte("prices"))
	if _, err := os.Stat(filepath.Join(bobHome, "partners")); err == nil {
		t.Error("the mount point's parent was created in bob's home")
	}
	if out, err := s.ferry("", "user", "mount", "bob", "--del", "/partners/shared"); err != nil {
		t.Fatalf("ferry user mount --del: %v\n%s", err, out)
	}
	if out, err := sc.batch("bob", "", pw, nil, "ls /partners/shared"); err == nil {
		t.Errorf("the removed virtual folder is still there:\n%s", out)
	}
}
