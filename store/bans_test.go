package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestBans: a ban is written, read back after the database is reopened,
// replaced by a later one of the same prefix, lifted with its offences
// kept, and lifting it twice says it is not banned.
func TestBans(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := st.PutBan(ctx, Ban{Prefix: "192.0.2.7/32", Until: until, Reason: "login.failed", Offences: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBan(ctx, Ban{Prefix: "192.0.2.7/32", Until: until, Reason: "refused", Offences: 2}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err = OpenSQLite(dir); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bans, err := st.Bans(ctx)
	if err != nil || len(bans) != 1 || !bans[0].Until.Equal(until) || bans[0].Offences != 2 || bans[0].Reason != "refused" || !bans[0].Active(time.Now()) {
		t.Fatalf("after reopening: %+v %v", bans, err)
	}
	if err := st.Unban(ctx, "192.0.2.7/32"); err != nil {
		t.Fatal(err)
	}
	if err := st.Unban(ctx, "192.0.2.7/32"); !errors.Is(err, ErrNotBanned) {
		t.Fatalf("second unban: %v", err)
	}
	if bans, _ := st.Bans(ctx); len(bans) != 1 || bans[0].Active(time.Now()) || bans[0].Offences != 2 {
		t.Fatalf("after unban: %+v", bans)
	}
}
