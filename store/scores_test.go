package store

import (
	"context"
	"testing"
	"time"
)

// TestScores: hits of one prefix add up within the window from two handles
// of the store (two nodes), other prefixes stay apart, a clear and a prune
// forget; failures of a user count from every address.
func TestScores(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		now := time.Now()
		since := now.Add(-time.Minute)
		if _, err := s.AddHit(ctx, "192.0.2.1/32", now.Add(-2*time.Minute), 5, since); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{1, 2, 3} {
			got, err := s.AddHit(ctx, "192.0.2.1/32", now.Add(time.Duration(i)*time.Second), 1, since)
			if err != nil || got != want {
				t.Fatalf("hit %d: score %d %v, want %d (the old hit is outside the window)", i, got, err, want)
			}
		}
		if got, _ := s.AddHit(ctx, "192.0.2.2/32", now, 2, since); got != 2 {
			t.Fatalf("another prefix: %d, want 2", got)
		}
		if err := s.ClearHits(ctx, "192.0.2.1/32"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AddHit(ctx, "192.0.2.1/32", now, 1, since); got != 1 {
			t.Fatalf("after clear: %d, want 1", got)
		}
		for i := range 3 {
			if n, err := s.AddLoginFailure(ctx, "ann", now, since); err != nil || n != i+1 {
				t.Fatalf("failure %d: %d %v", i, n, err)
			}
		}
		if err := s.PruneScores(ctx, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.LoginFailures(ctx, "ann", time.Time{}); n != 0 {
			t.Fatalf("pruned failures still counted: %d", n)
		}
		if got, _ := s.AddHit(ctx, "192.0.2.2/32", now, 1, time.Time{}); got != 1 {
			t.Fatalf("pruned hits still counted: %d", got)
		}
	})
}
