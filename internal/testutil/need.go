package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Need checks that every program is on PATH. CI installs the peers
// (.ci/run), so under CI=true a missing one is a broken machine and fails
// the test naming it and the package that installs it; elsewhere the test
// is skipped with the same message.
func Need(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		absent(t, strings.Join(missing, ", ")+" not installed", missing)
	}
}

// NeedOne returns the path of the first of programs found (a name on PATH,
// or a path), for a peer known by several names. When none is found, the
// test fails or skips as with Need.
func NeedOne(t testing.TB, programs ...string) string {
	t.Helper()
	for _, p := range programs {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	absent(t, "none of "+strings.Join(programs, ", ")+" is installed", programs)
	return ""
}

// packages names the Debian package that installs each peer of the tests.
var packages = map[string]string{
	"bash":             "bash",
	"chromium":         "chromium",
	"chromium-browser": "chromium",
	"curl":             "curl",
	"haproxy":          "haproxy",
	"ip":               "iproute2",
	"iptables":         "iptables",
	"lftp":             "lftp",
	"mount":            "mount",
	"nft":              "nftables",
	"nginx":            "nginx",
	"prlimit":          "util-linux",
	"python3":          "python3",
	"scp":              "openssh-client",
	"script":           "bsdutils",
	"sftp":             "openssh-client",
	"ssh":              "openssh-client",
	"ssh-keygen":       "openssh-client",
	"sshd":             "openssh-server",
	"sshpass":          "sshpass",
	"timeout":          "coreutils",
	"umount":           "mount",
	"vsftpd":           "vsftpd",
}

// absent fails (CI=true) or skips the test with what is missing and the
// packages that install it.
func absent(t testing.TB, what string, programs []string) {
	t.Helper()
	var pkgs []string
	for _, p := range programs {
		if pkg := packages[filepath.Base(p)]; pkg != "" && !slices.Contains(pkgs, pkg) {
			pkgs = append(pkgs, pkg)
		}
	}
	msg := what + " (.ci/run installs the peers)"
	if len(pkgs) > 0 {
		msg = what + " (apt-get install " + strings.Join(pkgs, " ") + "; .ci/run installs the peers)"
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s", msg)
		return
	}
	t.Skipf("%s", msg)
}
