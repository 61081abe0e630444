package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestEngineDetails: the statements whose SQL differs most between the
// engines — flags, the quota's floor at zero, upserts of bans, keys
// listed back — give the same results on both.
func TestEngineDetails(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		if err := s.Add(ctx, User{Name: "ann", Home: "/h", ReadOnly: true, Disabled: true, Keys: []string{"k2", "k1", "k1"}}); err != nil {
			t.Fatal(err)
		}
		u, err := s.Get(ctx, "ann")
		if err != nil || !u.ReadOnly || !u.Disabled || len(u.Keys) != 2 || u.Keys[0] != "k2" {
			t.Fatalf("get: %+v %v", u, err)
		}
		no := false
		if err := s.Update(ctx, "ann", Change{ReadOnly: &no}); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.Get(ctx, "ann"); u.ReadOnly || !u.Disabled {
			t.Fatalf("after update: %+v", u)
		}
		if err := s.AddUsage(ctx, "ann", 100, 2); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUsage(ctx, "ann", -500, -1); err != nil {
			t.Fatal(err)
		}
		if q, err := s.Quota(ctx, "ann"); err != nil || q.UsedBytes != 0 || q.UsedFiles != 1 {
			t.Fatalf("usage: %+v %v (want 0 bytes: never below zero, 1 file)", q, err)
		}
		if err := s.AddUsage(ctx, "nobody", 1, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("usage of a missing user: %v", err)
		}
		revs, err := s.Revisions(ctx)
		if err != nil || revs["ann"] != 1 {
			t.Fatalf("revisions: %v %v", revs, err)
		}
		until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		for i := 1; i <= 2; i++ {
			if err := s.PutBan(ctx, Ban{Prefix: "2001:db8::/64", Until: until, Reason: "r", Offences: i}); err != nil {
				t.Fatal(err)
			}
		}
		if b, err := s.Bans(ctx); err != nil || len(b) != 1 || b[0].Offences != 2 || !b[0].Until.Equal(until) {
			t.Fatalf("bans: %+v %v", b, err)
		}
		if err := s.Delete(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestWebSessions: a session written by one handle of the database is read
// by another (another node), touched, and gone after a drop, a drop of its
// user, the user's deletion, or its expiry at the next login.
func TestWebSessions(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		if err := s.Add(ctx, User{Name: "ann", Home: "/h"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Millisecond)
		long := now.Add(-time.Hour)
		put := func(key, kind string, created time.Time) {
			t.Helper()
			if err := s.PutSession(ctx, WebSession{Key: key, Kind: kind, User: "ann", CSRF: "c-" + key, Created: created, Seen: created}, long, long); err != nil {
				t.Fatal(err)
			}
		}
		put("a", "web", now)
		put("b", "token", now)
		w, err := s.GetSession(ctx, "a")
		if err != nil || w.User != "ann" || w.CSRF != "c-a" || w.Kind != "web" || !w.Created.Equal(now) {
			t.Fatalf("get: %+v %v", w, err)
		}
		if err := s.TouchSession(ctx, "a", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if w, _ := s.GetSession(ctx, "a"); !w.Seen.Equal(now.Add(time.Minute)) {
			t.Fatalf("touch: %+v", w)
		}
		if err := s.DropUserSessions(ctx, "web", "ann"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "a"); !errors.Is(err, ErrNoSession) {
			t.Fatalf("after dropping the user's web sessions: %v", err)
		}
		if _, err := s.GetSession(ctx, "b"); err != nil {
			t.Fatalf("the token went with the web sessions: %v", err)
		}
		// An expired token is pruned by the next one's creation.
		put("old", "token", now.Add(-2*time.Hour))
		put("c", "token", now)
		if _, err := s.GetSession(ctx, "old"); !errors.Is(err, ErrNoSession) {
			t.Fatalf("expired token kept: %v", err)
		}
		if err := s.DropSession(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "c"); !errors.Is(err, ErrNoSession) {
			t.Fatalf("dropped token kept: %v", err)
		}
		if err := s.Delete(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctx, "b"); !errors.Is(err, ErrNoSession) {
			t.Fatalf("a deleted user's token kept: %v", err)
		}
		// A session of a user that does not exist is refused.
		if err := s.PutSession(ctx, WebSession{Key: "z", Kind: "web", User: "ghost", Created: now, Seen: now}, long, long); err == nil {
			t.Fatal("session of a missing user accepted")
		}
	})
}

// TestTicketKeys: the first call makes a key, later calls within the
// period return the same one, a call after the period adds a newer one
// first and keeps the older for tickets in flight.
func TestTicketKeys(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		n := 0
		gen := func() string { n++; return fmt.Sprintf("key%d", n) }
		now := time.Now()
		k1, err := s.TicketKeys(ctx, now, time.Hour, gen)
		if err != nil || len(k1) != 1 || k1[0] != "key1" {
			t.Fatalf("first: %v %v", k1, err)
		}
		if k, _ := s.TicketKeys(ctx, now.Add(time.Minute), time.Hour, gen); len(k) != 1 || k[0] != "key1" {
			t.Fatalf("within the period: %v", k)
		}
		k2, err := s.TicketKeys(ctx, now.Add(2*time.Hour), time.Hour, gen)
		if err != nil || len(k2) != 2 || k2[0] != "key2" || k2[1] != "key1" {
			t.Fatalf("after the period: %v %v", k2, err)
		}
		k3, _ := s.TicketKeys(ctx, now.Add(10*time.Hour), time.Hour, gen)
		if len(k3) != 1 || k3[0] != "key3" {
			t.Fatalf("old keys not pruned: %v", k3)
		}
	})
}

// TestPostgresNodesMigrateAtOnce: four nodes opening a new database at the
// same moment all succeed, the schema is made once, and a user added
// through one is seen by the others.
func TestPostgresNodesMigrateAtOnce(t *testing.T) {
	dsn := pg(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	nodes := make([]*DB, 4)
	errs := make([]error, 4)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = OpenPostgres(ctx, dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer nodes[i].Close()
	}
	if err := nodes[0].Add(ctx, User{Name: "ann", Home: "/h", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		if u, err := n.Get(ctx, "ann"); err != nil || u.PasswordHash != "x" {
			t.Fatalf("node %d: %+v %v", i, u, err)
		}
	}
	var applied int
	if err := nodes[0].db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := migrations.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || applied < 3 {
		t.Fatalf("%d migrations recorded, want %d (each once)", applied, len(files))
	}
	if _, err := OpenPostgres(ctx, "postgres://ferry@127.0.0.1:1/ferry?connect_timeout=2"); err == nil {
		t.Fatal("a database that does not answer was opened")
	}
}

// TestLegacySQLite: a users.db made before the migrations (the first
// schema, no goose table) opens, gains the newer columns and keeps its
// users and keys.
func TestLegacySQLite(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL DEFAULT '', home TEXT NOT NULL, read_only INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE TABLE user_keys (user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, key TEXT NOT NULL, PRIMARY KEY (user, key));
INSERT INTO users VALUES ('old', 'hash', '/h', 1, 1700000000);
INSERT INTO user_keys VALUES ('old', 'ssh-ed25519 AAAA');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	u, err := s.Get(ctx, "old")
	if err != nil || u.PasswordHash != "hash" || !u.ReadOnly || len(u.Keys) != 1 {
		t.Fatalf("legacy user: %+v %v", u, err)
	}
	if err := s.SetQuota(ctx, "old", 10, 1); err != nil {
		t.Fatalf("new column missing: %v", err)
	}
	if err := s.PutSession(ctx, WebSession{Key: "k", Kind: "web", User: "old", Created: time.Now(), Seen: time.Now()}, time.Time{}, time.Time{}); err != nil {
		t.Fatalf("new table missing: %v", err)
	}
}
