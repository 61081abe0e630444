//go:build !linux

package testutil

import (
	"os"
	"testing"
)

// Tmpfs mounts a small file system to fill; only Linux can here.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("a tmpfs to fill is mounted on Linux only")
	}
	t.Skip("a tmpfs to fill is mounted on Linux only")
	return ""
}
