package client

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Bar draws one file's progress on a terminal line: name, bar, percent,
// rate and time left, redrawn a few times a second.
type Bar struct {
	w      io.Writer
	name   string
	total  int64
	offset int64
	n      atomic.Int64
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// NewBar starts drawing on w (a terminal).
func NewBar(w io.Writer, name string, total, offset int64) *Bar {
	b := &Bar{w: w, name: name, total: total, offset: offset, start: time.Now(), stop: make(chan struct{})}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprint(b.w, "\r"+b.line(time.Since(b.start)))
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Add counts transferred bytes.
func (b *Bar) Add(n int64) { b.n.Add(n) }

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.once.Do(func() {
		close(b.stop)
		b.wg.Wait()
		fmt.Fprint(b.w, "\r"+b.line(time.Since(b.start))+"\n")
	})
}

// line renders the bar for the bytes so far after elapsed time.
func (b *Bar) line(elapsed time.Duration) string {
	n := b.n.Load()
	done := b.offset + n
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	pct := 100.0
	if b.total > 0 {
		pct = 100 * float64(done) / float64(b.total)
	}
	const width = 20
	fill := min(width, int(pct/100*width))
	eta := "--:--"
	if rate > 0 && b.total >= done {
		eta = clock(time.Duration(float64(b.total-done) / rate * float64(time.Second)))
	}
	name := b.name
	if len(name) > 24 {
		name = name[:21] + "..."
	}
	return fmt.Sprintf("%-24s [%s%s] %3.0f%% %9s %10s/s ETA %s",
		name, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, size(done), size(int64(rate)), eta)
}

func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// size writes a byte count in binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), 0
	for v >= unit && u < 5 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[u-1])
}
