package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// ferryClient runs the ferry client as a user would: its own HOME (for
// ~/.ssh/known_hosts and ~/.config/ferry/known_hosts), the password in
// FERRY_PASSWORD, no terminal. It returns stdout, stderr and the exit
// status.
type ferryClient struct {
	t         *testing.T
	home      string
	password  string
	extraArgs []string // flags added to every command
	wrap      []string // runs the client under this command (ip netns exec NS)
}

func newFerryClient(t *testing.T, password string) *ferryClient {
	return &ferryClient{t: t, home: t.TempDir(), password: password}
}

func (c *ferryClient) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append(append(append([]string{}, c.wrap...), ferryBin), append(args, c.extraArgs...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+filepath.Join(c.home, ".config"),
		"FERRY_PASSWORD="+c.password, "SSH_AUTH_SOCK=", "FERRY_KNOWN_HOSTS=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			c.t.Fatalf("ferry %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	if strings.Contains(o.String()+e.String(), c.password) {
		c.t.Fatalf("ferry %s printed the password", strings.Join(args, " "))
	}
	return o.String(), e.String(), code
}

// ok runs a command that must succeed and returns its stderr.
func (c *ferryClient) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return errOut
}

// fails runs a command that must exit with code and returns its stderr.
func (c *ferryClient) fails(code int, args ...string) string {
	c.t.Helper()
	out, errOut, got := c.run(args...)
	if got != code {
		c.t.Fatalf("ferry %s: exit %d, want %d\n%s%s", strings.Join(args, " "), got, code, out, errOut)
	}
	return errOut
}

type clientSummary struct {
	OK    bool `json:"ok"`
	Exit  int  `json:"exit_code"`
	Files []struct {
		Remote      string `json:"remote"`
		Size        int64  `json:"size"`
		Transferred int64  `json:"transferred"`
		ResumedFrom int64  `json:"resumed_from"`
		Skipped     bool   `json:"skipped"`
		Segments    int    `json:"segments"`
	} `json:"files"`
	Entries []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
		Dir  bool   `json:"dir"`
	} `json:"entries"`
}

func (c *ferryClient) summary(args ...string) clientSummary {
	c.t.Helper()
	out, errOut, code := c.run(append(args, "--json")...)
	// One JSON line per file, then the summary: the last value.
	var s clientSummary
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		s = clientSummary{}
		if err := dec.Decode(&s); err != nil {
			c.t.Fatalf("ferry %s --json: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
	}
	if code != 0 || !s.OK || s.Exit != 0 {
		c.t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return s
}

// clientRoundTrip runs the client's commands against one URL base (no
// trailing slash) of a user whose home folder is home. canAppend says
// whether the protocol continues uploads (the REST API replaces files
// atomically, so an upload over HTTPS starts again).
func clientRoundTrip(t *testing.T, c *ferryClient, base, home string, canAppend bool) {
	dir := t.TempDir()
	data := testutil.RandomBytes(5<<20+3, 11)
	src := filepath.Join(dir, "up.bin")
	os.WriteFile(src, data, 0o644)

	c.ok("mkdir", base+"/in")
	s := c.summary("put", src, base+"/in/")
	if len(s.Files) != 1 || s.Files[0].Transferred != int64(len(data)) {
		t.Fatalf("put summary: %+v", s)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "in", "up.bin")); !bytes.Equal(got, data) {
		t.Fatal("uploaded bytes differ on the server")
	}
	c.ok("mv", base+"/in/up.bin", "/in/renamed.bin")
	s = c.summary("ls", base+"/in")
	if len(s.Entries) != 1 || s.Entries[0].Name != "renamed.bin" || s.Entries[0].Size != int64(len(data)) {
		t.Fatalf("ls after mv: %+v", s.Entries)
	}
	down := filepath.Join(dir, "down.bin")
	if notes := c.ok("get", base+"/in/renamed.bin", down); strings.Contains(notes, "ETA") {
		t.Fatalf("progress bar drawn although stderr is not a terminal: %q", notes)
	}
	if got, _ := os.ReadFile(down); !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ")
	}

	// Resume a download that stopped after 1 MiB: only the rest moves.
	resumed := filepath.Join(dir, "resumed.bin")
	os.WriteFile(resumed+".part", data[:1<<20], 0o644)
	s = c.summary("get", "-c", base+"/in/renamed.bin", resumed)
	if s.Files[0].ResumedFrom != 1<<20 || s.Files[0].Transferred != int64(len(data))-1<<20 {
		t.Fatalf("resumed download: %+v", s.Files)
	}
	if got, _ := os.ReadFile(resumed); !bytes.Equal(got, data) {
		t.Fatal("resumed download differs")
	}
	// A second -c finds it complete.
	if s = c.summary("get", "-c", base+"/in/renamed.bin", resumed); !s.Files[0].Skipped {
		t.Fatalf("complete download not skipped: %+v", s.Files)
	}

	// Trees.
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(tree, "a", "b", "deep.bin"), data[:123457], 0o644)
	os.WriteFile(filepath.Join(tree, "top.txt"), []byte("top\n"), 0o644)
	c.fails(2, "put", tree, base+"/tree")
	c.ok("put", "-r", tree, base+"/tree")
	back := filepath.Join(dir, "back")
	c.ok("get", base+"/tree", back, "-r")
	for _, rel := range []string{"a/b/deep.bin", "top.txt"} {
		want, _ := os.ReadFile(filepath.Join(tree, rel))
		if got, err := os.ReadFile(filepath.Join(back, rel)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after put -r/get -r: %v", rel, err)
		}
	}

	// Resume an upload that stopped after 1 MiB.
	os.WriteFile(filepath.Join(home, "big.bin"), data[:1<<20], 0o644)
	s = c.summary("put", "-c", src, base+"/big.bin")
	from := int64(0)
	if canAppend {
		from = 1 << 20
	}
	if s.Files[0].ResumedFrom != from || s.Files[0].Transferred != int64(len(data))-from {
		t.Fatalf("resumed upload: %+v, want it to continue at %d", s.Files, from)
	}
	if got, _ := os.ReadFile(filepath.Join(home, "big.bin")); !bytes.Equal(got, data) {
		t.Fatal("resumed upload differs on the server")
	}

	c.ok("rm", base+"/in/renamed.bin")
	c.ok("rm", base+"/in")
	if _, err := os.Stat(filepath.Join(home, "in")); !os.IsNotExist(err) {
		t.Fatalf("folder still there after rm: %v", err)
	}
	c.fails(6, "get", base+"/no-such-file", filepath.Join(dir, "x"))
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Fatal("a failed download left a file")
	}
}

// TestClientSFTP drives `ferry serve` over SFTP with the ferry client:
// password login, host key on first use, every command, resume.
func TestClientSFTP(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-sftp-pw"
	home := s.addUser("carol", pw)
	s.start()
	c := newFerryClient(t, pw)
	base := fmt.Sprintf("sftp://carol@%s", s.addr(s.Cfg.SFTP.Port))
	notes := c.ok("ls", base+"/")
	if !strings.Contains(notes, "trusting its") {
		t.Fatalf("no first-use notice for the host key: %s", notes)
	}
	known, _ := os.ReadFile(filepath.Join(c.home, ".ssh", "known_hosts"))
	if !strings.Contains(string(known), fmt.Sprintf("[%s]:%d ", s.host(), s.Cfg.SFTP.Port)) {
		t.Fatalf("known_hosts: %q", known)
	}
	clientRoundTrip(t, c, base, home, true)

	bad := newFerryClient(t, "wrong")
	bad.home = c.home
	bad.fails(4, "ls", base+"/")
}

// TestClientHTTPS drives ferry's REST API with the ferry client: trust on
// first use of the generated certificate, every command, Range resume,
// http:// following the redirect to HTTPS without sending the password in
// clear, and a changed certificate refused.
func TestClientHTTPS(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-https-pw"
	home := s.addUser("dave", pw)
	s.start()
	c := newFerryClient(t, pw)
	base := fmt.Sprintf("https://dave@%s", s.addr(s.Cfg.HTTP.HTTPSPort))
	notes := c.ok("ls", base+"/")
	if !strings.Contains(notes, "trusting it on first use") {
		t.Fatalf("no first-use notice for the certificate: %s", notes)
	}
	clientRoundTrip(t, c, base, home, true) // a partial PUT (Content-Range) continues it

	// Plain http:// is upgraded by the server's redirect.
	plain := fmt.Sprintf("http://dave@%s", s.addr(s.Cfg.HTTP.Port))
	notes = c.ok("mkdir", plain+"/via-http")
	if !strings.Contains(notes, "redirects to HTTPS") {
		t.Fatalf("no note about the upgrade: %s", notes)
	}
	if fi, err := os.Stat(filepath.Join(home, "via-http")); err != nil || !fi.IsDir() {
		t.Fatalf("mkdir over http:// did not reach the server: %v", err)
	}

	c.fails(4, "ls", fmt.Sprintf("https://nobody@%s/", s.addr(s.Cfg.HTTP.HTTPSPort)))

	// On a terminal (script(1) gives it one) the download draws a bar.
	testutil.Need(t, "script")
	os.WriteFile(filepath.Join(home, "tty.bin"), testutil.RandomBytes(1<<20, 13), 0o644)
	dst := filepath.Join(t.TempDir(), "tty.bin")
	line := fmt.Sprintf("%s get %s/tty.bin %s", ferryBin, base, dst)
	script := exec.Command("script", "-qec", line, "/dev/null")
	script.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+filepath.Join(c.home, ".config"), "FERRY_PASSWORD="+pw)
	out, err := script.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "100%") || !strings.Contains(string(out), "ETA") || !strings.Contains(string(out), "/s") {
		t.Fatalf("no progress bar on a terminal: %v\n%q", err, out)
	}

	// A new certificate on the same address is refused under TOFU.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.Cfg.DataDir, "tls-cert.pem"))
	os.Remove(filepath.Join(s.Cfg.DataDir, "tls-key.pem"))
	s.start()
	notes = c.fails(5, "ls", base+"/")
	if !strings.Contains(notes, "CHANGED") || !strings.Contains(notes, "known_hosts") {
		t.Fatalf("changed certificate without a clear warning: %s", notes)
	}
	c.ok("ls", base+"/", "--insecure")
}

// TestClientFTP drives `ferry serve` over FTP with the ferry client in
// every TLS flavour and both modes; the server requires the data
// connections to resume the control connection's TLS session.
func TestClientFTP(t *testing.T) {
	s := newServer(t, nil)
	const pw = "client-ftp-pw"
	home := s.addUser("erin", pw)
	s.start()
	active := testutil.FreeRange(t, 10)
	for _, tc := range []struct {
		name, scheme string
		port         int
		extra        []string
	}{
		{"explicit-passive", "ftpes", s.Cfg.FTP.Port, nil},
		{"explicit-active", "ftpes", s.Cfg.FTP.Port, []string{"--active"}},
		{"implicit-passive", "ftps", s.Cfg.FTP.ImplicitPort, nil},
		{"implicit-active-ports", "ftps", s.Cfg.FTP.ImplicitPort, []string{"--active-ports", active.String()}},
		{"ftp-upgrades", "ftp", s.Cfg.FTP.Port, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFerryClient(t, pw)
			c.extraArgs = tc.extra
			base := fmt.Sprintf("%s://erin@%s", tc.scheme, s.addr(tc.port))
			notes := c.ok("ls", base+"/", "--debug")
			for _, want := range []string{"trusting it on first use", "> PBSZ 0", "> PROT P", "> PASS ****"} {
				if !strings.Contains(notes, want) {
					t.Fatalf("ls output lacks %q:\n%s", want, notes)
				}
			}
			if strings.Contains(notes, "NOT resumed") {
				t.Fatalf("data connection did not resume the TLS session:\n%s", notes)
			}
			if len(tc.extra) > 0 && !strings.Contains(notes, "> EPRT |1|127.0.0.1|") {
				t.Fatalf("active mode sent no EPRT:\n%s", notes)
			}
			clientRoundTrip(t, c, base, home, true)
		})
	}
}
