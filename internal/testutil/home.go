package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/vfs"
)

// Home lists the names in a user's home as the user sees them, without
// vfs.TempDir, and fails the test if that directory still holds an
// upload: once every transfer has ended, none may be left there.
func Home(t testing.TB, home string) []string {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(home, vfs.TempDir, "*")); len(left) > 0 {
		t.Errorf("temporary uploads left in %s: %v", vfs.TempDir, left)
	}
	ents, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.Name() != vfs.TempDir {
			names = append(names, e.Name())
		}
	}
	return names
}

// Uploading returns the temporary files of the uploads in progress in a
// user's home.
func Uploading(home string) []string {
	m, _ := filepath.Glob(filepath.Join(home, vfs.TempDir, "*"))
	return m
}
