package testutil

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestNeedSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		Need(t, "sh", "ferry-no-such-program")
		t.Fatal("Need returned although a program is missing")
	})
	if !sub.Skipped() {
		t.Fatal("a missing program outside CI does not skip")
	}
	Need(t, "sh") // present: returns
}

// recorder is a testing.TB that notes a failure or a skip instead of
// ending the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func (r *recorder) Skipf(format string, args ...any) { r.skip = fmt.Sprintf(format, args...) }

func TestNeedFailsInCI(t *testing.T) {
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	Need(r, "sh", "/nonexistent/sshpass", "ferry-no-such-program")
	if r.skip != "" {
		t.Errorf("skipped under CI=true: %s", r.skip)
	}
	want := "/nonexistent/sshpass, ferry-no-such-program not installed (apt-get install sshpass; .ci/run installs the peers)"
	if r.fatal != want {
		t.Errorf("failure %q, want %q", r.fatal, want)
	}
}

func TestNeedOne(t *testing.T) {
	if p := NeedOne(t, "ferry-no-such-program", "sh", "cat"); filepath.Base(p) != "sh" {
		t.Errorf("NeedOne = %q, want the path of sh", p)
	}
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	if p := NeedOne(r, "/nonexistent/chromium", "chromium-browser-ferry-test"); p != "" {
		t.Errorf("NeedOne found %q among missing programs", p)
	}
	if r.fatal != "" || !strings.HasPrefix(r.skip, "none of /nonexistent/chromium, chromium-browser-ferry-test is installed (apt-get install chromium;") {
		t.Errorf("no program: failure %q, skip %q", r.fatal, r.skip)
	}
}
