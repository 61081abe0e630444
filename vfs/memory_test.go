package vfs_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/vfstest"
)

func TestMemoryConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) (vfs.FS, vfs.FS) {
		m := vfs.NewMemory(false)
		return m, m.Share(true)
	})
}

// TestMemoryFull: a full memory store fails writes like a full disk.
func TestMemoryFull(t *testing.T) {
	m := vfs.NewMemory(false)
	m.SetCapacity(10)
	u, _ := m.Create("/f")
	if n, err := u.Write(make([]byte, 16)); n != 10 || !errors.Is(err, vfs.ErrNoSpace) {
		t.Fatalf("write past the capacity = %d, %v", n, err)
	}
	vfstest.Is(t, "Commit after a failed write", u.Commit(), vfs.ErrNoSpace)
	if _, err := m.Stat("/f"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed upload was published: %v", err)
	}
	vfstest.Put(t, m, "/g", make([]byte, 10)) // the failed upload's bytes were freed
}
