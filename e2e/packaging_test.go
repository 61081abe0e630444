package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestSystemdUnit: packaging/ferry.service passes systemd-analyze verify,
// with ExecStart pointed at the binary under test, and reloads with SIGHUP.
func TestSystemdUnit(t *testing.T) {
	testutil.Need(t, "systemd-analyze")
	b, err := os.ReadFile("../packaging/ferry.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"ExecStart=/usr/local/bin/ferry serve", "ExecReload=/bin/kill -HUP $MAINPID", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	bin, err := filepath.Abs(ferryBin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ferry.service")
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/ferry", bin)), 0o644)
	if out, err := exec.Command("systemd-analyze", "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
