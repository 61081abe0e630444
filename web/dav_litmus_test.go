package web

import (
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestDAVLitmus runs litmus, the WebDAV conformance suite (Debian's
// litmus package), over plain HTTP (neon, under litmus, has no switch to
// trust a self-signed certificate). basic, copymove and props must pass
// whole; in locks one failure is allowed and required, so that a change
// shows: lock_shared, since golang.org/x/net/webdav implements exclusive
// locks only (it answers a shared LOCK 501).
func TestDAVLitmus(t *testing.T) {
	testutil.Need(t, "litmus")
	ts := startServer(t, func(c *config.Config) { c.HTTP.HTTPSPort = 0 })
	ts.addUser("alice", false)
	cmd := exec.Command("litmus", "-k", ts.base+"/dav/", "alice", testserver.Password)
	cmd.Dir = t.TempDir() // litmus writes debug.log there
	cmd.Env = append(os.Environ(), "TESTS=basic copymove props locks")
	out, _ := cmd.CombinedOutput()
	t.Logf("litmus:\n%s", out)
	summary := regexp.MustCompile(`<- summary for .(\w+).: of (\d+) tests run: (\d+) passed, (\d+) failed`)
	ran := map[string]string{}
	for _, m := range summary.FindAllStringSubmatch(string(out), -1) {
		ran[m[1]] = m[4]
	}
	for _, suite := range []string{"basic", "copymove", "props", "locks"} {
		if _, ok := ran[suite]; !ok {
			t.Errorf("litmus %s did not run", suite)
		}
	}
	known := map[string]bool{"lock_shared": true}
	failed := regexp.MustCompile(`(?m)^\s*\d+\. (\w+)\.*\s+\d+\. \w+\.* FAIL`)
	var fails []string
	for _, m := range failed.FindAllStringSubmatch(string(out), -1) {
		fails = append(fails, m[1])
		if !known[m[1]] {
			t.Errorf("litmus %s failed", m[1])
		}
	}
	if len(fails) != 1 {
		t.Errorf("litmus failures %v, want [lock_shared] (the output's form changed, or the library grew shared locks)", fails)
	}
	for _, suite := range []string{"basic", "copymove", "props"} {
		if ran[suite] != "0" {
			t.Errorf("litmus %s: %s failed, want 0", suite, ran[suite])
		}
	}
	if ran["locks"] != "1" {
		t.Errorf("litmus locks: %s failed, want 1 (lock_shared)", ran["locks"])
	}
}
