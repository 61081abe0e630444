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
// trust a self-signed certificate). basic and copymove must pass whole;
// in props and locks exactly the known failures are allowed:
//   - propset, propmanyns, the propget after it, owner_modify: PROPPATCH
//     answers 403 for every property, since ferry stores no dead
//     properties (so the props tests that need one are skipped);
//   - propfind_invalid2: golang.org/x/net/webdav accepts a body with an
//     undeclared namespace prefix (207, not 400);
//   - lock_shared: the library implements exclusive locks only (501);
//   - fail_complex_cond_put: the library grants a PUT whose If header
//     lists a bogus token beside the valid one.
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
	known := map[string]bool{"propset": true, "propmanyns": true, "propget": true, "owner_modify": true,
		"propfind_invalid2": true, "lock_shared": true, "fail_complex_cond_put": true}
	failed := regexp.MustCompile(`(?m)^\s*\d+\. (\w+)\.*\s+\d+\. \w+\.* FAIL`)
	n := 0
	for _, m := range failed.FindAllStringSubmatch(string(out), -1) {
		n++
		if !known[m[1]] {
			t.Errorf("litmus %s failed", m[1])
		}
	}
	if n == 0 {
		t.Error("no failure parsed: the output's form changed (props is known to fail)")
	}
	if ran["basic"] != "0" || ran["copymove"] != "0" {
		t.Errorf("litmus basic: %s failed, copymove: %s failed; want 0", ran["basic"], ran["copymove"])
	}
}
