package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/internal/testutil"
)

const ftpPass = "ftp-pass-1"

// ftplibScript drives Python's ftplib. Python never resumes the control
// connection's TLS session on data connections by itself; with reuse=1
// the usual small subclass passes it on. Every data connection's remote
// port is printed, which in active mode is the server's source port.
const ftplibScript = `
import ftplib, socket, ssl, sys
host, port, user, pw, implicit, passive, reuse, action = sys.argv[1:9]
args = sys.argv[9:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

class Client(ftplib.FTP_TLS):
    def connect(self, host, port, timeout=30):
        if implicit != "1":
            return super().connect(host, port, timeout)
        self.host, self.port, self.timeout = host, port, timeout
        sock = socket.create_connection((host, port), timeout)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=host)
        self.file = self.sock.makefile('r', encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd, rest=None):
        if reuse != "1":
            conn, size = super().ntransfercmd(cmd, rest)
        else:
            conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
            if self._prot_p:
                conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        print("data-peer-port", conn.getpeername()[1], flush=True)
        return conn, size

f = Client(context=ctx)
f.connect(host, int(port))
if action == "login-plain":
    try:
        ftplib.FTP.login(f, user, pw)
        print("logged in without TLS")
    except ftplib.error_perm as e:
        print("refused", e)
    sys.exit(0)
f.login(user, pw)
f.prot_p()
f.set_pasv(passive == "1")
if action == "roundtrip":
    local, name = args
    with open(local, "rb") as fp:
        f.storbinary("STOR " + name, fp)
    got = bytearray()
    f.retrbinary("RETR " + name, got.extend)
    with open(local, "rb") as fp:
        want = fp.read()
    print("roundtrip", "ok" if bytes(got) == want else "MISMATCH %d/%d" % (len(got), len(want)))
    print("listing", f.nlst())
elif action == "list-refused":
    try:
        f.retrlines("LIST", lambda l: None)
        print("listed")
    except ftplib.error_perm as e:
        print("refused", e)
    except Exception as e:
        try:
            f.getresp()
            print("listed")
        except ftplib.error_perm as e:
            print("refused", e)
elif action == "resume":
    local, name, offset = args
    with open(local, "rb") as fp:
        fp.seek(int(offset))
        f.storbinary("STOR " + name, fp, rest=int(offset))
    print("resumed")
elif action == "bounce":
    for cmd in args:
        try:
            print("accepted", f.sendcmd(cmd))
        except ftplib.error_perm as e:
            print("refused", e)
f.quit()
`

func ftplib(t *testing.T, s *server, implicit, passive, reuse bool, action string, args ...string) string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "ftplib_client.py")
	if err := os.WriteFile(script, []byte(ftplibScript), 0o644); err != nil {
		t.Fatal(err)
	}
	port := s.Cfg.FTP.Port
	if implicit {
		port = s.Cfg.FTP.ImplicitPort
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	out, err := run(t, "", "python3", append([]string{script, s.host(), strconv.Itoa(port), "alice", ftpPass, b(implicit), b(passive), b(reuse), action}, args...)...)
	if err != nil {
		t.Fatalf("ftplib %s: %v\n%s", action, err, out)
	}
	return out
}

// ftpServer starts ferry with a user alice and returns the server and
// alice's home.
func ftpServer(t *testing.T, mutate func(c *config.Config)) (*server, string) {
	t.Helper()
	s := newServer(t, mutate)
	home := s.addUser("alice", ftpPass)
	s.start()
	return s, home
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sameFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, want %d, not byte-exact", path, len(got), len(want))
	}
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, "", "curl", append([]string{"-sS", "-k", "-u", "alice:" + ftpPass}, args...)...)
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return out
}

// TestFTPCurl: explicit FTPS (--ssl-reqd), implicit FTPS (ftps://), with
// EPSV and PASV, 1 MiB, empty and UTF-8-named files byte-exact.
func TestFTPCurl(t *testing.T) {
	testutil.Need(t, "curl")
	s, home := ftpServer(t, nil)
	dir := t.TempDir()
	files := []struct {
		name, url string
		data      []byte
	}{
		{"one-mib.bin", "one-mib.bin", testutil.RandomBytes(1<<20, 1)},
		{"empty", "empty", nil},
		{"naïve résumé €.txt", "na%C3%AFve%20r%C3%A9sum%C3%A9%20%E2%82%AC.txt", []byte("utf-8 name\n")},
	}
	explicit := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/"
	implicit := "ftps://" + s.addr(s.Cfg.FTP.ImplicitPort) + "/"
	for _, f := range files {
		local := writeFile(t, filepath.Join(dir, "up"), f.data)
		curl(t, "--ssl-reqd", "-T", local, explicit+f.url)
		sameFile(t, filepath.Join(home, f.name), f.data)
		down := filepath.Join(dir, "down")
		curl(t, "--ssl-reqd", "--disable-epsv", "-o", down, explicit+f.url)
		sameFile(t, down, f.data)
		os.Remove(filepath.Join(home, f.name))
		curl(t, "-T", local, implicit+f.url)
		sameFile(t, filepath.Join(home, f.name), f.data)
		curl(t, "-o", down, implicit+f.url)
		sameFile(t, down, f.data)
	}
	ls := curl(t, "--ssl-reqd", explicit)
	if !strings.Contains(ls, " 1048576 ") || !strings.Contains(ls, "naïve résumé €.txt") {
		t.Errorf("LIST through curl:\n%s", ls)
	}
	if !s.waitLog("event=download path=/one-mib.bin bytes=1048576", 5*time.Second) || !strings.Contains(s.Logs(), "mode=passive") {
		t.Errorf("transfers not logged:\n%s", s.Logs())
	}
	if strings.Contains(s.Logs(), ftpPass) {
		t.Fatal("the password reached the log")
	}
}

// TestFTPCurlActivePlain: curl -P over cleartext FTP (tls = "optional").
func TestFTPCurlActivePlain(t *testing.T) {
	testutil.Need(t, "curl")
	s, home := ftpServer(t, func(c *config.Config) { c.FTP.TLS = config.TLSOptional })
	data := testutil.RandomBytes(1<<20, 2)
	dir := t.TempDir()
	local := writeFile(t, filepath.Join(dir, "up"), data)
	url := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/active.bin"
	curl(t, "-P", "127.0.0.1", "-T", local, url)
	sameFile(t, filepath.Join(home, "active.bin"), data)
	down := filepath.Join(dir, "down")
	curl(t, "-P", "127.0.0.1", "-o", down, url)
	sameFile(t, down, data)
	if !s.waitLog("event=download path=/active.bin bytes=1048576", 5*time.Second) || !strings.Contains(s.Logs(), "mode=active") {
		t.Errorf("active transfers not logged:\n%s", s.Logs())
	}
}

// TestFTPLoginBeforeAUTHRefused: under tls = "required" a cleartext login
// gets 530 with the reason, from curl and from ftplib.
func TestFTPLoginBeforeAUTHRefused(t *testing.T) {
	testutil.Need(t, "curl", "python3")
	s, _ := ftpServer(t, nil)
	out, err := run(t, "", "curl", "-sS", "-v", "-u", "alice:"+ftpPass, "ftp://"+s.addr(s.Cfg.FTP.Port)+"/")
	if err == nil || !strings.Contains(out, "530 TLS required") {
		t.Fatalf("cleartext curl login: %v\n%s", err, out)
	}
	if out := ftplib(t, s, false, true, true, "login-plain"); !strings.Contains(out, "refused 530 TLS required") {
		t.Fatalf("cleartext ftplib login:\n%s", out)
	}
}

// TestFTPPassiveReply: PASV replies carry public_host and a port of the
// configured range.
func TestFTPPassiveReply(t *testing.T) {
	testutil.Need(t, "curl")
	s, _ := ftpServer(t, func(c *config.Config) { c.PublicHost = "203.0.113.5" })
	r := s.Cfg.FTP.PassiveRange()
	re := regexp.MustCompile(`227 (Entering Passive Mode \([0-9,]+\)\.)`)
	for i := range 5 {
		out := curl(t, "-v", "--ssl-reqd", "--disable-epsv", "ftp://"+s.addr(s.Cfg.FTP.Port)+"/")
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no 227 reply in curl -v:\n%s", out)
		}
		ap, err := wire.ParsePASV(m[1])
		if err != nil || ap.Addr().String() != "203.0.113.5" || !r.Contains(int(ap.Port())) {
			t.Fatalf("try %d: 227 %s: want public_host 203.0.113.5 and a port in %s", i, m[1], r)
		}
	}
}

// TestFTPLftp: lftp with explicit FTPS, passive and active, data protected.
func TestFTPLftp(t *testing.T) {
	testutil.Need(t, "lftp")
	s, home := ftpServer(t, nil)
	dir := t.TempDir()
	data := testutil.RandomBytes(1<<20, 3)
	local := writeFile(t, filepath.Join(dir, "lftp-up.bin"), data)
	writeFile(t, filepath.Join(dir, "empty"), nil)
	for _, passive := range []string{"on", "off"} {
		down := filepath.Join(dir, "down-"+passive)
		script := fmt.Sprintf(`set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ftp:passive-mode %s; set net:max-retries 1; set net:timeout 10;
open -u alice,%s ftp://%s;
put %s -o "grüße %s.bin"; put %s -o empty-%s; get "grüße %s.bin" -o %s; cls -l; mkdir d-%s; rmdir d-%s; bye`,
			passive, ftpPass, s.addr(s.Cfg.FTP.Port), local, passive, filepath.Join(dir, "empty"), passive, passive, down, passive, passive)
		out, err := run(t, "", "lftp", "-c", script)
		if err != nil {
			t.Fatalf("lftp passive-mode %s: %v\n%s", passive, err, out)
		}
		sameFile(t, down, data)
		sameFile(t, filepath.Join(home, "grüße "+passive+".bin"), data)
		sameFile(t, filepath.Join(home, "empty-"+passive), nil)
		if !strings.Contains(out, "grüße "+passive+".bin") {
			t.Errorf("lftp cls -l:\n%s", out)
		}
	}
	if !strings.Contains(s.Logs(), "mode=active tls=true") || !strings.Contains(s.Logs(), "mode=passive tls=true") {
		t.Errorf("lftp transfers not protected in both modes:\n%s", s.Logs())
	}
}

// TestFTPPythonSessionReuse: ftplib FTP_TLS with prot_p, active and
// passive, with the session-reuse subclass; plain ftplib (which never
// resumes) is refused with 522.
func TestFTPPythonSessionReuse(t *testing.T) {
	testutil.Need(t, "python3")
	s, home := ftpServer(t, nil)
	data := testutil.RandomBytes(1<<20, 4)
	local := writeFile(t, filepath.Join(t.TempDir(), "py.bin"), data)
	for _, passive := range []bool{true, false} {
		out := ftplib(t, s, false, passive, true, "roundtrip", local, "py.bin")
		if !strings.Contains(out, "roundtrip ok") {
			t.Fatalf("ftplib passive=%v:\n%s", passive, out)
		}
		sameFile(t, filepath.Join(home, "py.bin"), data)
	}
	out := ftplib(t, s, false, true, false, "list-refused")
	if !strings.Contains(out, "refused 522") {
		t.Fatalf("ftplib without session reuse was not refused with 522:\n%s", out)
	}
	if !s.waitLog("protected data connection refused", 5*time.Second) {
		t.Errorf("refusal not logged:\n%s", s.Logs())
	}
}

// TestFTPActiveSourcePorts: active data connections come from port 20
// for the control port 21 and from 989 for the implicit port 990.
func TestFTPActiveSourcePorts(t *testing.T) {
	testutil.Need(t, "python3")
	for _, p := range []int{21, 990, 20, 989} {
		if !testutil.PortFree(p) {
			t.Fatalf("port %d is in use on this machine; this test needs 21/990 and the source ports 20/989", p)
		}
	}
	s, _ := ftpServer(t, func(c *config.Config) {
		c.FTP.Port, c.FTP.ImplicitPort, c.FTP.ActiveSourcePort = 21, 990, -1
	})
	local := writeFile(t, filepath.Join(t.TempDir(), "a.bin"), testutil.RandomBytes(100000, 5))
	for _, tc := range []struct {
		implicit bool
		want     string
	}{{false, "data-peer-port 20\n"}, {true, "data-peer-port 989\n"}} {
		out := ftplib(t, s, tc.implicit, false, true, "roundtrip", local, "a.bin")
		if !strings.Contains(out, "roundtrip ok") || strings.Count(out, tc.want) < 3 || strings.Contains(strings.ReplaceAll(out, tc.want, ""), "data-peer-port") {
			t.Fatalf("implicit=%v: want every data connection from %q:\n%s", tc.implicit, strings.TrimSpace(tc.want), out)
		}
	}
}

// TestFTPBounceRefused: PORT/EPRT naming another IP or a privileged port
// are refused; so is a data connection from a foreign IP (127.0.0.2).
func TestFTPBounceRefused(t *testing.T) {
	testutil.Need(t, "python3")
	s, _ := ftpServer(t, nil)
	out := ftplib(t, s, false, false, true, "bounce", "PORT 127,0,0,2,31,144", "PORT 127,0,0,1,0,25", "EPRT |1|10.1.2.3|8080|", "EPRT |1|127.0.0.1|8080|")
	if strings.Count(out, "refused 500 Illegal") != 3 || !strings.Contains(out, "accepted 200") {
		t.Fatalf("bounce PORT/EPRT:\n%s", out)
	}
	if !strings.Contains(s.Logs(), "bounce") {
		t.Errorf("bounce attempts not logged:\n%s", s.Logs())
	}
}

// foreignScript opens EPSV, connects to the data port from 127.0.0.2
// first (must be refused), then from the client's own address.
const foreignScript = `
import ftplib, socket, ssl, sys
host, port, user, pw = sys.argv[1:5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx)
f.connect(host, int(port))
f.login(user, pw)
f.prot_p()
resp = f.sendcmd("EPSV")
dport = int(resp.split("|")[3])
foreign = socket.socket()
foreign.bind(("127.0.0.2", 0))
foreign.connect((host, dport))
f.putcmd("LIST")
print("reply", f.getresp(), flush=True)
foreign.settimeout(5)
try:
    data = foreign.recv(10)
    print("foreign got", repr(data))
except OSError as e:
    print("foreign refused", e)
own = socket.create_connection((host, dport))
conn = ctx.wrap_socket(own, server_hostname=host, session=f.sock.session)
listing = b""
while True:
    b = conn.recv(65536)
    if not b:
        break
    listing += b
print("own listed", len(listing))
print("final", f.getresp())
f.quit()
`

func TestFTPForeignDataConnection(t *testing.T) {
	testutil.Need(t, "python3")
	s, home := ftpServer(t, nil)
	writeFile(t, filepath.Join(home, "x"), []byte("x"))
	script := writeFile(t, filepath.Join(t.TempDir(), "foreign.py"), []byte(foreignScript))
	out, err := run(t, "", "python3", script, s.host(), strconv.Itoa(s.Cfg.FTP.Port), "alice", ftpPass)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "foreign got b''") && !strings.Contains(out, "foreign refused") {
		t.Fatalf("the foreign data connection was served:\n%s", out)
	}
	if !strings.Contains(out, "own listed") || !strings.Contains(out, "final 226") {
		t.Fatalf("the client's own data connection failed:\n%s", out)
	}
	if !s.waitLog("passive data connection from an address no session waits for", 5*time.Second) || !strings.Contains(s.Logs(), "remote=127.0.0.2:") {
		t.Errorf("foreign connection not logged:\n%s", s.Logs())
	}
}

// TestFTPEscapeRefused: "../" and a symbolic link out of the home are
// refused.
func TestFTPEscapeRefused(t *testing.T) {
	testutil.Need(t, "curl")
	s, home := ftpServer(t, nil)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.txt"), []byte("TOP SECRET"))
	os.Symlink(outside, filepath.Join(home, "outdir"))
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(home, "link.txt"))
	base := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/"
	rel := strings.Repeat("../", 12) + strings.TrimPrefix(outside, "/") + "/secret.txt"
	for _, u := range []string{base + rel, base + "%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E" + outside + "/secret.txt", base + "outdir/secret.txt", base + "link.txt"} {
		for _, method := range [][]string{{"--ftp-method", "multicwd"}, {"--ftp-method", "nocwd"}} {
			out, err := run(t, "", "curl", append([]string{"-sS", "-k", "--ssl-reqd", "--path-as-is", "-u", "alice:" + ftpPass, u}, method...)...)
			if err == nil || strings.Contains(out, "TOP SECRET") {
				t.Fatalf("%s %v escaped the home: %v\n%s", u, method, err, out)
			}
		}
	}
	local := writeFile(t, filepath.Join(t.TempDir(), "w"), []byte("w"))
	if out, err := run(t, "", "curl", "-sS", "-k", "--ssl-reqd", "-u", "alice:"+ftpPass, "-T", local, base+"outdir/written.txt"); err == nil {
		t.Fatalf("upload through a symlink out of the home succeeded:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(outside, "written.txt")); err == nil {
		t.Fatal("a file was written outside the home")
	}
}

// TestFTPKilledUploadAndResume: a client killed mid-upload leaves no file
// under the final name; a resumed upload (curl -C -, ftplib REST+STOR)
// completes byte-exact.
func TestFTPKilledUploadAndResume(t *testing.T) {
	testutil.Need(t, "curl", "python3")
	s, home := ftpServer(t, nil)
	dir := t.TempDir()
	data := testutil.RandomBytes(4<<20, 6)
	local := writeFile(t, filepath.Join(dir, "big.bin"), data)
	url := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/big.bin"
	cmd := exec.Command("curl", "-sS", "-k", "--ssl-reqd", "--limit-rate", "256K", "-u", "alice:"+ftpPass, "-T", local, url)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // about 400 KiB into the 4 MiB
	cmd.Process.Kill()
	cmd.Wait()
	if !s.waitLog("event=upload path=/big.bin", 10*time.Second) {
		t.Fatalf("the cut upload did not end:\n%s", s.Logs())
	}
	if line := regexp.MustCompile(`.*event=upload path=/big.bin .*`).FindString(s.Logs()); strings.Contains(line, "result=ok") {
		t.Errorf("cut upload logged as complete: %s", line)
	}
	entries := testutil.Home(t, home)
	if len(entries) != 0 {
		t.Fatalf("a killed upload left %v in the home", entries)
	}

	// Resume: a first part is there, curl -C - sends the rest.
	writeFile(t, filepath.Join(home, "big.bin"), data[:1500000])
	curl(t, "--ssl-reqd", "-C", "-", "-T", local, url)
	sameFile(t, filepath.Join(home, "big.bin"), data)
	// And ftplib's REST + STOR.
	writeFile(t, filepath.Join(home, "py.bin"), data[:2222222])
	if out := ftplib(t, s, false, true, true, "resume", local, "py.bin", "2222222"); !strings.Contains(out, "resumed") {
		t.Fatalf("ftplib resume:\n%s", out)
	}
	sameFile(t, filepath.Join(home, "py.bin"), data)
}

// TestFTPIPv6: EPSV (explicit FTPS) and EPRT (curl -P) over ::1.
func TestFTPIPv6(t *testing.T) {
	testutil.Need(t, "curl")
	s, home := ftpServer(t, func(c *config.Config) {
		c.ListenAddress = "::1"
		c.FTP.TLS = config.TLSOptional
	})
	data := testutil.RandomBytes(300000, 7)
	dir := t.TempDir()
	local := writeFile(t, filepath.Join(dir, "up"), data)
	url := "ftp://" + s.addr(s.Cfg.FTP.Port) + "/six.bin"
	out := curl(t, "-g", "-v", "--ssl-reqd", "-T", local, url)
	if !strings.Contains(out, "EPSV") || !strings.Contains(out, "229 Entering Extended Passive Mode") {
		t.Errorf("no EPSV over ::1:\n%s", out)
	}
	sameFile(t, filepath.Join(home, "six.bin"), data)
	down := filepath.Join(dir, "down")
	out = curl(t, "-g", "-v", "-P", "::1", "-o", down, url)
	if !strings.Contains(out, "EPRT |2|::1|") {
		t.Errorf("no EPRT over ::1:\n%s", out)
	}
	sameFile(t, down, data)
}
