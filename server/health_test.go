package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/store"
)

// TestHealthChecks: the checks behind /healthz pass with the store open
// and the data directory there, and fail once either is gone.
func TestHealthChecks(t *testing.T) {
	c := config.Default()
	c.DataDir = filepath.Join(t.TempDir(), "data")
	st, err := store.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	checks := healthChecks(c, st)
	run := func() error {
		for _, check := range checks {
			if err := check(context.Background()); err != nil {
				return err
			}
		}
		return nil
	}
	if err := run(); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	st.Close()
	if err := run(); err == nil {
		t.Error("a closed store passes the check")
	}
	st, err = store.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checks = healthChecks(c, st)
	if err := os.RemoveAll(c.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := run(); err == nil {
		t.Error("a missing data directory passes the check")
	}
}
