package core

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// TestQuotaSplice: an upload into the local disk keeps its splice(2) path
// under a quota (quotaUpload.ReadFrom), is stopped past the quota, is not
// published by the Commit that follows, and one within it is charged.
func TestQuotaSplice(t *testing.T) {
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Add(ctx, store.User{Name: "alice", Home: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	u := &usage{name: "alice", st: st, q: store.Quota{MaxBytes: 1000}}
	f, err := vfs.NewLocal(filepath.Join(t.TempDir(), "home"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	send := func(name string, n int) error {
		client, server := tcpPair(t)
		go func() { client.Write(make([]byte, n)); client.CloseWrite() }()
		inner, err := f.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		up := &quotaUpload{Upload: inner, u: u, isNew: true}
		_, err = (&Transfer{}).Receive(up, server)
		if cerr := up.Commit(); err == nil {
			err = cerr
		}
		return err
	}
	if err := send("/big", 2000); !errors.Is(err, ErrQuota) {
		t.Fatalf("2000 bytes into 1000: %v, want ErrQuota", err)
	}
	if _, err := f.Stat("/big"); err == nil {
		t.Fatal("the upload past the quota was published")
	}
	if err := send("/small", 600); err != nil {
		t.Fatal(err)
	}
	q, _ := st.Quota(ctx, "alice")
	if q.UsedBytes != 600 || q.UsedFiles != 1 || u.q.UsedBytes != 600 {
		t.Fatalf("usage %+v (in memory %+v), want 600 bytes in 1 file", q, u.q)
	}
	if err := send("/more", 600); !errors.Is(err, ErrQuota) {
		t.Fatalf("600 more: %v, want ErrQuota", err)
	}
}
