package testutil

import (
	"os"
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of the given size ("4m") on a new directory and
// unmounts it when the test ends: a small disk to fill. It needs root;
// without it the test is skipped, unless CI=true, where it fails (CI runs
// as root, so a skip there would hide a broken machine).
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs (root is needed): %v", err)
		}
		t.Skipf("mount tmpfs needs root (%v); CI=true makes this a failure", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
