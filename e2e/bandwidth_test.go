package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestBandwidth: with [bandwidth] user_download and user_upload at 10
// MB/s, a 100 MB download takes 10 s within 10 % over FTPS (curl), SFTP
// (OpenSSH) and HTTPS (curl), and so does an HTTPS upload; two users
// downloading at once are limited each on their own (both about 10 s,
// not 20). The time is the transfer's as the audit log gives it: the
// client's wall time adds its login (an argon2id hash, an SSH key
// exchange), which on a loaded machine (load average 14 on 2 cores when
// this was written) took over a second.
func TestBandwidth(t *testing.T) {
	testutil.Need(t, "curl", "sftp", "sshpass")
	if testing.Short() {
		t.Skip("about a minute of transfers at 10 MB/s")
	}
	const rate, size = 10_000_000, 100_000_000
	s := newServer(t, func(c *config.Config) {
		c.Bandwidth.UserDownload, c.Bandwidth.UserUpload = rate, rate
		c.Limits.StallTimeout = config.Duration{Duration: 30 * time.Second}
	})
	const pw = "bw-password"
	homes := map[string]string{"alice": s.addUser("alice", pw), "bob": s.addUser("bob", pw)}
	s.start()
	for _, h := range homes {
		f, err := os.Create(filepath.Join(h, "big.bin"))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(size)
		f.Close()
	}
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	dir := t.TempDir()
	want := time.Duration(size / rate * int64(time.Second))
	audit := filepath.Join(s.Cfg.DataDir, "audit.jsonl")
	// timed runs f and returns the duration of the transfer of size bytes
	// it made as user over proto, from the audit log.
	timed := func(name, user, proto, event string, f func()) time.Duration {
		matching := func() []map[string]any {
			var m []map[string]any
			for _, l := range readAudit(t, audit) {
				if b, _ := l["bytes"].(float64); l["event"] == event && l["user"] == user && l["protocol"] == proto && b == size {
					m = append(m, l)
				}
			}
			return m
		}
		before := len(matching())
		f()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if m := matching(); len(m) > before {
				took := time.Duration(m[len(m)-1]["duration_ms"].(float64)) * time.Millisecond
				t.Logf("%s: %v, %.2f MB/s", name, took, float64(size)/took.Seconds()/1e6)
				return took
			}
		}
		t.Fatalf("%s: no %s of %d bytes by %s over %s in the audit log", name, event, size, user, proto)
		return 0
	}
	check := func(name string, took time.Duration) {
		if took < want*9/10 || took > want*11/10 {
			t.Errorf("%s took %v, want %v ± 10 %%", name, took.Round(time.Millisecond), want)
		}
	}
	mustRun := func(args ...string) {
		t.Helper()
		if out, err := run(t, "", args[0], args[1:]...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	https := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort) + "/api/v1/files/"
	check("FTPS download", timed("FTPS download", "alice", "ftp", "download", func() {
		mustRun("curl", "-sS", "-k", "--ssl-reqd", "-u", "alice:"+pw, "-o", filepath.Join(dir, "ftp.bin"), "ftp://"+s.addr(s.Cfg.FTP.Port)+"/big.bin")
	}))
	sc := newSFTPClient(t, s)
	check("SFTP download", timed("SFTP download", "alice", "sftp", "download", func() {
		if out, err := sc.batch("alice", "", pw, nil, "get big.bin "+filepath.Join(dir, "sftp.bin")); err != nil {
			t.Fatalf("sftp: %v\n%s", err, out)
		}
	}))
	check("HTTPS download", timed("HTTPS download", "alice", "https", "download", func() {
		mustRun("curl", "-sS", "--fail", "--cacert", cert, "-u", "alice:"+pw, "-o", filepath.Join(dir, "https.bin"), https+"big.bin")
	}))
	check("HTTPS upload", timed("HTTPS upload", "alice", "https", "upload", func() {
		mustRun("curl", "-sS", "--fail", "--cacert", cert, "-u", "alice:"+pw, "-T", filepath.Join(dir, "https.bin"), https+"up.bin")
	}))
	var wg sync.WaitGroup
	took := map[string]time.Duration{}
	var mu sync.Mutex
	for _, u := range []string{"alice", "bob"} {
		wg.Go(func() {
			d := timed(u+" alongside", u, "https", "download", func() {
				out, err := run(t, "", "curl", "-sS", "--fail", "--cacert", cert, "-u", u+":"+pw, "-o", filepath.Join(dir, u+".bin"), https+"big.bin")
				if err != nil {
					t.Errorf("%s: %v\n%s", u, err, out)
				}
			})
			mu.Lock()
			took[u] = d
			mu.Unlock()
		})
	}
	wg.Wait()
	for u, d := range took {
		check(fmt.Sprintf("%s's download beside the other user's", u), d)
	}
}
