package store

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/ferry-project/ferry/internal/testpg"
)

// TestRoundTrip: users and keys written, read, changed and deleted, on
// both engines.
func TestRoundTrip(t *testing.T) { forEngines(t, testRoundTrip) }

func testRoundTrip(t *testing.T, s *DB) {
	ctx := context.Background()
	if err := s.Add(ctx, User{Name: "alice", PasswordHash: "h1", Home: "/srv/a", Keys: []string{"ssh-ed25519 AAAA k1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, User{Name: "alice", Home: "/x"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate add: got %v, want ErrExists", err)
	}
	if err := s.Add(ctx, User{Name: "bob", Home: "/srv/b", ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	u, err := s.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "h1" || u.Home != "/srv/a" || u.ReadOnly || len(u.Keys) != 1 {
		t.Fatalf("got %+v", u)
	}
	if err := s.SetPassword(ctx, "alice", "h2"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddKey(ctx, "alice", "ssh-ed25519 BBBB k2"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKey(ctx, "alice", "ssh-ed25519 AAAA k1"); err != nil {
		t.Fatal(err)
	}
	u, _ = s.Get(ctx, "alice")
	if u.PasswordHash != "h2" || len(u.Keys) != 1 || u.Keys[0] != "ssh-ed25519 BBBB k2" {
		t.Fatalf("after updates got %+v", u)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alice" || !list[1].ReadOnly {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := s.Delete(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
	if err := s.SetPassword(ctx, "nobody", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("passwd missing: %v", err)
	}
}

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"a.b-c_d@e", true}, {"", false}, {"-x", false}, {".x", false},
		{"a b", false}, {"a/b", false}, {"ü", false},
	} {
		if err := ValidName(tc.name); (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// forEngines runs f on a new SQLite store and on a new database of a
// private PostgreSQL server (Debian's postgresql; skipped without it
// unless CI=true).
func forEngines(t *testing.T, f func(t *testing.T, s *DB)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := OpenSQLite(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := OpenPostgres(context.Background(), pg(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f(t, s)
	})
}

// pg returns a new database of its own for a test, on one private
// PostgreSQL server shared by the package's tests.
func pg(t *testing.T) string { return testpg.DB(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testpg.StopShared()
	os.Exit(code)
}
