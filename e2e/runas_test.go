package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/client"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestRunAs: started as root with run_as, every thread of ferry serve runs
// as that user once the ports are bound, while every protocol still works:
// explicit FTPS in active mode from source port 20 (dialled by the
// privileged helper), implicit FTPS, SFTP and HTTPS.
func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("run_as needs root, and CI runs as root")
		}
		t.Skip("run_as needs root")
	}
	testutil.Need(t, "useradd", "userdel")
	const name = "ferry-runas-test"
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", name).Run() })
	}
	u, _ := user.Lookup(name)
	s := newServer(t, func(c *config.Config) {
		c.RunAs = name
		c.FTP.ActiveSourcePort = 20
	})
	// The test's folders are private to root; the user must reach data_dir.
	for d := s.Dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	const pw = "run-as-test-password"
	s.addUser("alice", pw)
	s.start()
	if !s.waitLog("dropped privileges", 5*time.Second) {
		t.Fatalf("no drop in the log:\n%s", s.Logs())
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			want := u.Uid
			if f[0] == "Gid:" {
				want = u.Gid
			}
			for _, id := range f[1:] {
				if id != want {
					t.Fatalf("%s (real, effective, saved, fs), want all %s", line, want)
				}
			}
		}
	}
	data := testutil.RandomBytes(256<<10, 3)
	for _, scheme := range []string{"ftps", "sftp", "https"} {
		if err := s.roundTrip(scheme, "alice", pw, "/"+scheme+".bin", data, 10*time.Second); err != nil {
			t.Errorf("%s as %s: %v", scheme, name, err)
		}
	}
	c, err := client.Dial(client.Target{Scheme: "ftpes", Host: s.host(), Port: s.Cfg.FTP.Port, User: "alice", Password: pw, HasPass: true},
		client.Options{Insecure: true, Timeout: 10 * time.Second, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.Create("/active.bin", 0)
	if err != nil {
		t.Fatalf("active upload: %v", err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatalf("active upload: %v", err)
	}
	r, err := c.Open("/active.bin", 0)
	if err != nil {
		t.Fatalf("active download from port 20 as %s: %v\n%s", name, err, s.Logs())
	}
	got, err := io.ReadAll(r)
	if err := errors.Join(err, r.Close()); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("active download: %d bytes (%v), want %d equal", len(got), err, len(data))
	}
	if !s.waitLog("event=download path=/active.bin", 5*time.Second) || !strings.Contains(s.Logs(), "privileged_active_ports=[20]") {
		t.Fatalf("the active download from port 20 is not logged as such:\n%s", s.Logs())
	}
	if uid, _ := strconv.Atoi(u.Uid); uid == 0 {
		t.Fatal("the test user is root")
	}
}
