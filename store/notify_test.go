package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestNotifyQueue: a queued row is claimed once until its lease runs out,
// waits after a failure until it is due again, and is gone once
// delivered; on both engines.
func TestNotifyQueue(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		now := time.Now().Truncate(time.Millisecond)
		body := []byte(`{"event":"upload","path":"/a b;$(x)'\"ü"}`)
		if _, err := s.NotifyPush(ctx, Notification{ID: "r1", Event: "e1", Rule: "hook", Body: body, Created: now}, 10); err != nil {
			t.Fatal(err)
		}
		got, err := s.NotifyClaim(ctx, now, time.Minute, 10)
		if err != nil || len(got) != 1 || got[0].ID != "r1" || got[0].Event != "e1" || got[0].Rule != "hook" || string(got[0].Body) != string(body) || !got[0].Created.Equal(now) {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if again, err := s.NotifyClaim(ctx, now.Add(30*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("a leased row was claimed again: %+v %v", again, err)
		}
		// The lease ran out (its node died): another claim takes it.
		if again, err := s.NotifyClaim(ctx, now.Add(2*time.Minute), time.Minute, 10); err != nil || len(again) != 1 {
			t.Fatalf("a row whose lease ran out was not claimed: %+v %v", again, err)
		}
		if err := s.NotifyRetry(ctx, "r1", now.Add(time.Hour), "503 Service Unavailable"); err != nil {
			t.Fatal(err)
		}
		if due, _ := s.NotifyClaim(ctx, now.Add(3*time.Minute), time.Minute, 10); len(due) != 0 {
			t.Fatalf("a row claimed before it is due: %+v", due)
		}
		due, err := s.NotifyClaim(ctx, now.Add(time.Hour), time.Minute, 10)
		if err != nil || len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "503 Service Unavailable" {
			t.Fatalf("retry: %+v %v", due, err)
		}
		if err := s.NotifyDone(ctx, "r1"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.NotifyPending(ctx); err != nil || n != 0 {
			t.Fatalf("after delivery: %d rows, %v", n, err)
		}
		if _, err := s.NotifyPush(ctx, Notification{ID: "r2", Event: "e2", Rule: "hook", Body: body}, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NotifyPush(ctx, Notification{ID: "r2", Event: "e2", Rule: "hook", Body: body}, 10); err == nil {
			t.Fatal("a row id was queued twice")
		}
	})
}

// TestNotifyQueueBound: 200 rows pushed into a queue of at most 50 leave
// the newest 50, and every push past the bound reports what it dropped.
func TestNotifyQueueBound(t *testing.T) {
	forEngines(t, func(t *testing.T, s *DB) {
		ctx := context.Background()
		base := time.Now().Truncate(time.Millisecond)
		dropped := 0
		for i := range 200 {
			d, err := s.NotifyPush(ctx, Notification{ID: fmt.Sprintf("r%03d", i), Event: "e", Rule: "hook", Body: []byte("{}"),
				Created: base.Add(time.Duration(i) * time.Millisecond)}, 50)
			if err != nil {
				t.Fatal(err)
			}
			dropped += d
		}
		if n, err := s.NotifyPending(ctx); err != nil || n != 50 || dropped != 150 {
			t.Fatalf("%d rows, %d dropped (%v), want 50 and 150", n, dropped, err)
		}
		got, err := s.NotifyClaim(ctx, base.Add(time.Hour), time.Minute, 100)
		if err != nil || len(got) != 50 || got[0].ID != "r150" || got[49].ID != "r199" {
			t.Fatalf("kept %d rows from %v to %v (%v), want r150..r199", len(got), got[0].ID, got[len(got)-1].ID, err)
		}
	})
}

// TestNotifyClaimOnce: four handles of one database (four nodes) claiming
// 200 due rows at once, from 16 goroutines, claim each row exactly once.
func TestNotifyClaimOnce(t *testing.T) {
	ctx := context.Background()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			var open func() (*DB, error)
			if engine == "sqlite" {
				dir := t.TempDir()
				open = func() (*DB, error) { return OpenSQLite(dir) }
			} else {
				dsn := pg(t)
				open = func() (*DB, error) { return OpenPostgres(ctx, dsn) }
			}
			nodes := make([]*DB, 4)
			for i := range nodes {
				var err error
				if nodes[i], err = open(); err != nil {
					t.Fatal(err)
				}
				defer nodes[i].Close()
			}
			for i := range 200 {
				if _, err := nodes[i%4].NotifyPush(ctx, Notification{ID: fmt.Sprintf("r%d", i), Event: "e", Rule: "hook", Body: []byte("{}")}, 0); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			claims := map[string]int{}
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for {
						got, err := nodes[g%4].NotifyClaim(ctx, time.Now(), time.Hour, 7)
						if err != nil {
							t.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, n := range got {
							claims[n.ID]++
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(claims) != 200 {
				t.Fatalf("%d rows claimed, want 200", len(claims))
			}
			for id, n := range claims {
				if n != 1 {
					t.Fatalf("row %s claimed %d times", id, n)
				}
			}
		})
	}
}
