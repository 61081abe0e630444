package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
	ferryserver "github.com/ferry-project/ferry/server"
)

// TestStatus: `ferry status --json` reaches the running server through
// its 0600 control socket and lists a live SFTP session, the passive pool
// and a ban made with `ferry ban add`; the plain form prints them too.
// A download held at 1 MB/s by the bandwidth limit shows as the session's
// current transfer: path, direction, bytes so far and a rate near 1 MB/s.
func TestStatus(t *testing.T) {
	testutil.Need(t, "curl")
	s := newServer(t, func(c *config.Config) { c.Bandwidth.Download = 1 << 20 })
	home := s.addUser("alice", "status-pw")
	writeFile(t, filepath.Join(home, "big.bin"), testutil.RandomBytes(16<<20, 3))
	s.start()
	fi, err := os.Stat(filepath.Join(s.Cfg.DataDir, ferryserver.ControlSocket))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v", fi, err)
	}
	c, err := s.dial("sftp", "alice", "status-pw", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := s.ferry("", "ban", "add", "192.0.2.9", "--for", "1h"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var st ferryserver.Status
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := s.ferry("", "status", "--json")
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("ferry status --json: %v\n%s", err, out)
		}
		if len(st.Bans) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(st.Sessions) != 1 || st.Sessions[0].User != "alice" || st.Sessions[0].Protocol != "sftp" || !strings.HasPrefix(st.Sessions[0].Remote, "127.0.0.1:") {
		t.Errorf("sessions: %+v", st.Sessions)
	}
	if st.Passive == nil || st.Passive.Free != 40 || st.Passive.InUse != 0 {
		t.Errorf("passive: %+v", st.Passive)
	}
	if len(st.Bans) != 1 || st.Bans[0].Prefix != "192.0.2.9/32" || time.Until(st.Bans[0].Until) < 59*time.Minute {
		t.Errorf("bans: %+v", st.Bans)
	}
	out, err := s.ferry("", "status")
	if err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "192.0.2.9/32") || !strings.Contains(out, "40 free") {
		t.Errorf("ferry status: %v\n%s", err, out)
	}

	// The download: a session of its own, over HTTPS.
	cert := filepath.Join(s.Cfg.DataDir, "tls-cert.pem")
	curl := exec.Command("curl", "-sS", "--cacert", cert, "-u", "alice:status-pw", "-o", os.DevNull,
		"https://"+s.addr(s.Cfg.HTTP.HTTPSPort)+"/api/v1/files/big.bin")
	if err := curl.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { curl.Process.Kill(); curl.Wait() }()
	var x *ferryserver.Status
	for deadline := time.Now().Add(20 * time.Second); x == nil; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no transfer in ferry status: %+v", st.Sessions)
		}
		out, err := s.ferry("", "status", "--json")
		if err != nil || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("ferry status --json: %v\n%s", err, out)
		}
		for _, se := range st.Sessions {
			for _, tr := range se.Transfers {
				// Wait for 4 s of it, so that the rate has settled: the
				// limiter's first second of burst and the socket buffers
				// count in the average since the start.
				if se.Protocol == "https" && tr.Path == "/big.bin" && tr.Direction == "download" && time.Since(tr.Since) > 4*time.Second {
					x = &st
					if tr.Bytes <= 0 || tr.Bytes >= 16<<20 || tr.Rate < 700<<10 || tr.Rate > 1700<<10 {
						t.Errorf("transfer %+v: want bytes between 0 and 16 MiB, rate near 1 MiB/s", tr)
					}
				}
			}
		}
	}
	if len(x.Sessions) != 2 || len(x.Sessions[0].Transfers) != 0 {
		t.Errorf("sessions: %+v (the SFTP one moves nothing)", x.Sessions)
	}
	if out, err := s.ferry("", "status"); err != nil || !strings.Contains(out, "download /big.bin: ") || !strings.Contains(out, "KiB/s") && !strings.Contains(out, "MiB/s") {
		t.Errorf("ferry status does not show the download: %v\n%s", err, out)
	}
}
