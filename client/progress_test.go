package client

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTermProgressMany: with more files moving than maxBars, the live
// area shows maxBars lines, a count of the others and the total, so that
// it stays on one screen; each file still leaves its line as it ends.
func TestTermProgressMany(t *testing.T) {
	var out syncBuffer
	p := NewTermProgress(&out, func() int { return 100 })
	p.Plan(15, 15<<10)
	var ms []Meter
	for i := range 15 {
		ms = append(ms, p.Start(fmt.Sprintf("f%02d.bin", i), 1<<10, 0))
	}
	time.Sleep(600 * time.Millisecond) // a redraw or two
	live := out.String()
	if !strings.Contains(live, "... and 5 more files moving") || strings.Contains(live, "f10.bin") {
		t.Fatalf("live area of 15 files:\n%s", live)
	}
	for _, m := range ms {
		m.Add(1 << 10)
		m.Finish()
	}
	p.Close()
	all := out.String()
	for i := range 15 {
		if !strings.Contains(all, fmt.Sprintf("f%02d.bin", i)) {
			t.Fatalf("f%02d.bin left no line:\n%s", i, all)
		}
	}
}

// syncBuffer is a bytes.Buffer the progress goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
