package core

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/internal/testutil"
	"github.com/ferry-project/ferry/vfs"
)

func TestHash(t *testing.T) {
	home := t.TempDir()
	body := testutil.RandomBytes(3<<20+17, 3)
	if err := os.WriteFile(filepath.Join(home, "f"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := vfs.NewLocal(home, false)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	m, s1, s256 := md5.Sum(body), sha1.Sum(body), sha256.Sum256(body)
	for algo, want := range map[string][]byte{"md5": m[:], "SHA-1": s1[:], "sha256": s256[:]} {
		got, err := Hash(context.Background(), fsys, "/f", algo, 0, -1)
		if err != nil || got != hex.EncodeToString(want) {
			t.Errorf("%s: %s, %v; want %x", algo, got, err, want)
		}
	}
	part := sha256.Sum256(body[100 : 100+5000])
	if got, _ := Hash(context.Background(), fsys, "/f", "sha256", 100, 5000); got != hex.EncodeToString(part[:]) {
		t.Errorf("range: %s, want %x", got, part)
	}
	if _, err := Hash(context.Background(), fsys, "/f", "crc32", 0, -1); !errors.Is(err, ErrHashAlgorithm) {
		t.Errorf("crc32: %v", err)
	}
	if _, err := Hash(context.Background(), fsys, "/../etc/passwd", "md5", 0, -1); !errors.Is(err, vfs.ErrEscape) {
		t.Errorf("escape: %v", err)
	}
	if _, err := Hash(context.Background(), fsys, "/missing", "md5", 0, -1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Hash(ctx, fsys, "/f", "md5", 0, -1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// BenchmarkHash is the cost of a hash per byte of a file in the page
// cache (b.SetBytes): go test -bench Hash -run XXX ./core.
func BenchmarkHash(b *testing.B) {
	home := b.TempDir()
	if err := os.WriteFile(filepath.Join(home, "f"), testutil.RandomBytes(256<<20, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	fsys, err := vfs.NewLocal(home, false)
	if err != nil {
		b.Fatal(err)
	}
	defer fsys.Close()
	for _, algo := range []string{"md5", "sha1", "sha256"} {
		b.Run(algo, func(b *testing.B) {
			b.SetBytes(256 << 20)
			for b.Loop() {
				if _, err := Hash(context.Background(), fsys, "/f", algo, 0, -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
