package core

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// TestQuotaReplaceTruncateRefresh: the size told up front (Expect) counts
// only what a replaced file grows by, and for an upload in place only
// what it adds past the end; replacing a file with a shorter one and
// truncating one in place credit the difference at once (no rescan); a
// quota changed in the store reaches a running session with
// RefreshQuotas. The store's usage follows the session's at every step.
func TestQuotaReplaceTruncateRefresh(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	alice := store.User{Name: "alice", Home: t.TempDir()}
	if err := st.Add(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if err := st.SetQuota(ctx, "alice", 1000, 0); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	a := &auth.Authenticator{Store: st, Lockout: auth.NewLockout(0, 0, 0)}
	cr, err := New(Options{Config: c, Auth: a, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	cn, err := cr.Admit(newDialer(t).conn("127.0.6.1"), listen.SFTP)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if err := cn.Begin(alice, "test"); err != nil {
		t.Fatal(err)
	}
	fsys := cn.FS()
	used := func(want int64) {
		t.Helper()
		q, err := st.Quota(ctx, "alice")
		if err != nil || q.UsedBytes != want || cn.quota.q.UsedBytes != want {
			t.Fatalf("used %d in the store, %d in the session (%v), want %d", q.UsedBytes, cn.quota.q.UsedBytes, err, want)
		}
	}
	put := func(up vfs.Upload, expect int64, n int) error {
		t.Helper()
		if err := cn.Expect(up, expect); err != nil {
			up.Abort()
			return err
		}
		if _, err := up.Write(make([]byte, n)); err != nil {
			up.Abort()
			return err
		}
		return up.Commit()
	}
	create := func(p string) vfs.Upload {
		t.Helper()
		up, err := fsys.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		return up
	}

	if err := put(create("/a"), 800, 800); err != nil {
		t.Fatal(err)
	}
	used(800)
	// 900 over the 800 of /a grows it by 100: fits in 1000.
	if err := put(create("/a"), 1100, 0); !errors.Is(err, ErrQuota) {
		t.Fatalf("1100 over 800 with 1000: %v, want ErrQuota", err)
	}
	if err := put(create("/a"), 900, 900); err != nil {
		t.Fatalf("900 over 800 with 1000: %v", err)
	}
	used(900)
	if err := put(create("/a"), 100, 100); err != nil {
		t.Fatal(err)
	}
	used(100)

	// In place: truncating to 10 credits 90 when the upload is kept.
	up, err := fsys.OpenRandom("/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if err := up.Commit(); err != nil {
		t.Fatal(err)
	}
	used(10)
	// Appending at 10: 995 more would make 1005; 990 makes 1000.
	if up, err = fsys.OpenAt("/a", 10); err != nil {
		t.Fatal(err)
	}
	if err := cn.Expect(up, 995); !errors.Is(err, ErrQuota) {
		t.Fatalf("995 after 10 with 1000: %v", err)
	}
	if err := put(up, 990, 0); err != nil {
		t.Fatalf("990 after 10 with 1000: %v", err)
	}
	used(10)

	// A smaller quota set by `ferry user set` (the store) while the
	// session runs.
	if err := put(create("/b"), 100, 100); err != nil {
		t.Fatal(err)
	}
	used(110)
	if err := st.SetQuota(ctx, "alice", 150, 0); err != nil {
		t.Fatal(err)
	}
	cr.RefreshQuotas(ctx)
	if err := put(create("/c"), 50, 0); !errors.Is(err, ErrQuota) {
		t.Fatalf("50 more of 150 with 110 used, after the refresh: %v, want ErrQuota", err)
	}
	if err := put(create("/c"), 40, 40); err != nil {
		t.Fatal(err)
	}
	used(150)
}
