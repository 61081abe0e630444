package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Need checks that every program is on PATH. CI installs the peers
// (.ci/run), so under CI=true a missing one is a broken machine and fails
// the test naming it; elsewhere the test is skipped with the same message.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "not installed (.ci/run installs it): " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s", msg)
	}
	t.Skipf("%s", msg)
}
