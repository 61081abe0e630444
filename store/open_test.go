package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ferry-project/ferry/config"
)

func TestOpen(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "a", "data")
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Add(context.Background(), User{Name: "ann", Home: "/h"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, err := os.Stat(cfg.DataDir)
	if err != nil || !fi.IsDir() {
		t.Fatalf("data_dir not created: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o700 != 0 {
		t.Errorf("data_dir mode %v, want at most 0700", fi.Mode().Perm())
	}
	st, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Get(context.Background(), "ann"); err != nil {
		t.Fatalf("reopened store lost its user: %v", err)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	cfg.DataDir = filepath.Join(file, "data")
	if st, err := Open(cfg); err == nil || st != nil {
		t.Fatalf("Open under a file = %v, %v; want an error and no store", st, err)
	}
}

func TestMakeHome(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	given := filepath.Join(t.TempDir(), "x", "y")
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"ann", "", filepath.Join(cfg.DataDir, "homes", "ann")},
		{"bob", given, given},
	} {
		got, err := MakeHome(cfg, tc.name, tc.dir, false)
		if err != nil || got != tc.want {
			t.Errorf("MakeHome(%q, %q) = %q, %v; want %q", tc.name, tc.dir, got, err, tc.want)
			continue
		}
		if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
			t.Errorf("home %s not created: %v", got, err)
		} else if runtime.GOOS != "windows" && fi.Mode().Perm()&^0o750 != 0 {
			t.Errorf("home %s mode %v, want at most 0750", got, fi.Mode().Perm())
		}
	}
	// A relative data_dir gives an absolute home.
	t.Chdir(t.TempDir())
	cfg.DataDir = "rel"
	got, err := MakeHome(cfg, "carol", "", false)
	if err != nil || !filepath.IsAbs(got) || filepath.Base(filepath.Dir(got)) != "homes" {
		t.Errorf("MakeHome with a relative data_dir = %q, %v", got, err)
	}
	if _, err := MakeHome(cfg, "../evil", "", false); err == nil {
		t.Error("MakeHome accepted the name ../evil")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := MakeHome(cfg, "dan", filepath.Join(file, "home"), false); err == nil {
		t.Error("MakeHome under a file succeeded")
	}
}

// TestMakeHomeRefusesTheMachine: "/" and a folder holding data_dir are
// refused unless the administrator insists; the user database is 0600.
func TestMakeHomeRefusesTheMachine(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	for _, home := range []string{"/", dir, cfg.DataDir} {
		if _, err := MakeHome(cfg, "eve", home, false); !errors.Is(err, ErrHomeRefused) {
			t.Errorf("home %s: %v, want ErrHomeRefused", home, err)
		}
	}
	if got, err := MakeHome(cfg, "eve", dir, true); err != nil || got != dir {
		t.Errorf("--allow-any-home: %q %v", got, err)
	}
	if _, err := MakeHome(cfg, "eve", filepath.Join(dir, "homes-elsewhere"), false); err != nil {
		t.Errorf("a sibling of data_dir: %v", err)
	}
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, err := os.Stat(Location(cfg))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users.db mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}
