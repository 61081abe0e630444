package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// rcloneTree writes n files of mixed sizes (empty, small, up to 1 MiB) in
// nested folders and returns the root.
func rcloneTree(t *testing.T, n int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	sizes := []int{0, 1, 100, 4 << 10, 64<<10 + 3, 1 << 20}
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%d", i%7), fmt.Sprintf("e%d", i%3))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%03d.bin", i)), testutil.RandomBytes(sizes[i%len(sizes)], uint64(i)))
	}
	return root
}

// rclone runs rclone on an on-the-fly FTP remote of alice on s.
func rclone(t *testing.T, s *server, implicit bool, args ...string) (string, error) {
	t.Helper()
	pass, err := run(t, "", "rclone", "obscure", ftpPass)
	if err != nil {
		t.Fatalf("rclone obscure: %v\n%s", err, pass)
	}
	port, tlsOpt := s.Cfg.FTP.Port, "explicit_tls=true"
	if implicit {
		port, tlsOpt = s.Cfg.FTP.ImplicitPort, "tls=true"
	}
	remote := fmt.Sprintf(":ftp,host=%s,port=%d,user=alice,pass=%s,%s,no_check_certificate=true:", s.host(), port, strings.TrimSpace(pass), tlsOpt)
	var argv []string
	for _, a := range args {
		argv = append(argv, strings.ReplaceAll(a, "REMOTE:", remote))
	}
	conf := filepath.Join(t.TempDir(), "rclone.conf")
	writeFile(t, conf, nil)
	return run(t, "", "rclone", append([]string{"--config", conf}, argv...)...)
}

// TestFTPSRclone: rclone with its default settings (several control
// connections, one TLS session cache) copies a tree of 200 files up and
// back over explicit (ftpes) and implicit (ftps) FTPS under the default
// tls_session_reuse = "user", and `rclone check --download` finds no
// difference. Under "connection" the data connections resume a sibling's
// session and the upload fails with 522, as rclone users reported.
func TestFTPSRclone(t *testing.T) {
	testutil.Need(t, "rclone")
	tree := rcloneTree(t, 200)
	// rclone's --transfers 4 and --checkers 8 open more control connections
	// at once than limits.max_prelogin_per_ip (10) lets log in together:
	// the oldest is dropped, sometimes after AUTH TLS, and the TLS ticket
	// it left in rclone's shared cache resumes for nobody (measured: 1-3
	// admission refusals and 2-10 failed files of 200 per run). Past that
	// limit, more than lockout.max_failures (10) password checks from one
	// address at once are refused as "locked out". Both limits are raised
	// here; the defaults are left to the limits' owners.
	burst := func(c *config.Config) { c.Limits.MaxPreloginPerIP, c.Lockout.MaxFailures = 32, 32 }
	s, _ := ftpServer(t, burst)
	for _, implicit := range []bool{false, true} {
		name := "ftpes"
		if implicit {
			name = "ftps"
		}
		t.Run(name, func(t *testing.T) {
			if out, err := rclone(t, s, implicit, "copy", tree, "REMOTE:"+name); err != nil {
				t.Fatalf("rclone copy up: %v\n%s", err, out)
			}
			back := filepath.Join(t.TempDir(), "back")
			if out, err := rclone(t, s, implicit, "copy", "REMOTE:"+name, back); err != nil {
				t.Fatalf("rclone copy down: %v\n%s", err, out)
			}
			if out, err := rclone(t, s, implicit, "check", "--download", tree, "REMOTE:"+name); err != nil {
				t.Fatalf("rclone check --download: %v\n%s", err, out)
			}
			sameTree(t, tree, back, 200)
		})
	}
	// rclone retries, so a refusal would not fail the copy: the log tells.
	if strings.Contains(s.Logs(), "protected data connection refused") {
		t.Errorf("a data connection was refused under tls_session_reuse = user:\n%s", s.Logs())
	}
	if n := strings.Count(s.Logs(), "too many connections from your address"); n > 0 {
		t.Errorf("%d connections refused by admission", n)
	}

	strict, _ := ftpServer(t, func(c *config.Config) { burst(c); c.FTP.TLSSessionReuse = config.ReuseConnection })
	// ferry check predicts it: its two-connection resume check.
	t.Setenv("FERRY_PASSWORD", ftpPass)
	for _, c := range []struct {
		s    *server
		want string
	}{{s, "rclone) work"}, {strict, "REFUSED (522"}} {
		out, _ := c.s.ferry("", "check", c.s.host(), "--user", "alice")
		if !strings.Contains(out, "TLS session reuse") || !strings.Contains(out, c.want) {
			t.Errorf("ferry check under tls_session_reuse = %s does not say %q:\n%s", c.s.Cfg.FTP.TLSSessionReuse, c.want, out)
		}
	}
	out, err := rclone(t, strict, false, "copy", "--retries", "1", tree, "REMOTE:strict")
	if err == nil || !strings.Contains(out, "522") {
		t.Fatalf("rclone copy under tls_session_reuse = connection: err %v, want 522:\n%s", err, out)
	}
	if !strings.Contains(strict.Logs(), "another control connection") {
		t.Errorf("the refusal names no sibling session:\n%s", strict.Logs())
	}
}

// sameTree checks that every file under want is byte-exact under got and
// that there are n of them.
func sameTree(t *testing.T, want, got string, n int) {
	t.Helper()
	count := 0
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sameFile(t, filepath.Join(got, rel), data)
		count++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Fatalf("%s: %s files, want %d", want, strconv.Itoa(count), n)
	}
}
