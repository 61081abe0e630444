package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ferryserver "github.com/ferry-project/ferry/server"
)

// TestStatus: `ferry status --json` reaches the running server through
// its 0600 control socket and lists a live SFTP session, the passive pool
// and a ban made with `ferry ban add`; the plain form prints them too.
func TestStatus(t *testing.T) {
	s := newServer(t, nil)
	s.addUser("alice", "status-pw")
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
}
