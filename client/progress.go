package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// bar is one file's progress: name, bar, percent, bytes, rate and time
// left.
type bar struct {
	name   string
	total  int64 // < 0: unknown (standard input)
	offset int64
	n      atomic.Int64
	start  time.Time
	done   atomic.Bool
	p      *TermProgress
}

// Add counts transferred bytes.
func (b *bar) Add(n int64) {
	b.n.Add(n)
	if b.p != nil {
		b.p.moved.Add(n)
	}
}

// Finish ends the file's line.
func (b *bar) Finish() {
	if b.done.Swap(true) || b.p == nil {
		return
	}
	b.p.finish(b)
}

// line renders the bar for the bytes so far after elapsed time.
func (b *bar) line(elapsed time.Duration) string {
	n := b.n.Load()
	return barLine(b.name, b.offset+n, b.total, n, elapsed)
}

func barLine(name string, done, total, moved int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(moved) / s
	}
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	const width = 20
	fill := max(0, min(width, int(pct/100*width)))
	eta := "--:--"
	if rate > 0 && total >= done {
		eta = clock(time.Duration(float64(total-done) / rate * float64(time.Second)))
	}
	if r := []rune(name); len(r) > 24 {
		name = string(r[:21]) + "..."
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

// TermProgress draws on a terminal: one line per file in flight (the
// first maxBars, then a count of the others, so that the live area stays
// on one screen when dozens move at once) and, when several files move, a
// total line below them, redrawn four times a second; a finished file
// leaves its last line above.
const maxBars = 10

type TermProgress struct {
	w      io.Writer
	width  func() int
	mu     sync.Mutex
	active []*bar
	drawn  int // lines of the live area now on screen
	files  int
	bytes  int64
	ended  int
	moved  atomic.Int64
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
}

// NewTermProgress draws on w, a terminal whose width width tells (nil:
// 80 columns). Close ends it.
func NewTermProgress(w io.Writer, width func() int) *TermProgress {
	p := &TermProgress{w: w, width: width, start: time.Now(), stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.mu.Lock()
				p.redraw()
				p.mu.Unlock()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Plan adds files and bytes to the total.
func (p *TermProgress) Plan(files int, bytes int64) {
	p.mu.Lock()
	p.files += files
	p.bytes += bytes
	p.mu.Unlock()
}

// Start adds a line for a file.
func (p *TermProgress) Start(name string, total, offset int64) Meter {
	b := &bar{name: name, total: total, offset: offset, start: time.Now(), p: p}
	p.mu.Lock()
	p.active = append(p.active, b)
	p.mu.Unlock()
	return b
}

// Done counts a file that ended (or was skipped).
func (p *TermProgress) Done(File) {
	p.mu.Lock()
	p.ended++
	p.mu.Unlock()
}

func (p *TermProgress) finish(b *bar) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, a := range p.active {
		if a == b {
			p.active = append(p.active[:i], p.active[i+1:]...)
			break
		}
	}
	p.clear()
	fmt.Fprintln(p.w, p.fit(b.line(time.Since(b.start))))
	p.redraw()
}

// Close draws the last total and stops.
func (p *TermProgress) Close() {
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	if p.files > 1 {
		fmt.Fprintln(p.w, p.fit(p.total()))
	}
}

func (p *TermProgress) total() string {
	name := fmt.Sprintf("%d/%d files", p.ended, p.files)
	return barLine(name, p.moved.Load(), p.bytes, p.moved.Load(), time.Since(p.start))
}

// clear erases the live area: up, then clear to the end of the screen.
func (p *TermProgress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\r\x1b[J", p.drawn)
		p.drawn = 0
	}
}

func (p *TermProgress) redraw() {
	p.clear()
	var b strings.Builder
	for i, a := range p.active {
		if i == maxBars && len(p.active) > maxBars+1 {
			b.WriteString(p.fit(fmt.Sprintf("... and %d more files moving", len(p.active)-maxBars)) + "\n")
			p.drawn++
			break
		}
		b.WriteString(p.fit(a.line(time.Since(a.start))) + "\n")
		p.drawn++
	}
	if p.files > 1 {
		b.WriteString(p.fit(p.total()) + "\n")
		p.drawn++
	}
	io.WriteString(p.w, b.String())
}

// fit cuts a line to the terminal's width, so that it never wraps (the
// redraw counts lines).
func (p *TermProgress) fit(s string) string {
	w := 80
	if p.width != nil {
		if n := p.width(); n > 0 {
			w = n
		}
	}
	if r := []rune(s); len(r) >= w {
		return string(r[:w-1])
	}
	return s
}

// JSONProgress writes one JSON line per file as it ends (--json).
type JSONProgress struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONProgress writes to w.
func NewJSONProgress(w io.Writer) *JSONProgress { return &JSONProgress{w: w} }

// Plan does nothing: the lines are per file.
func (*JSONProgress) Plan(int, int64) {}

// Start follows nothing.
func (*JSONProgress) Start(string, int64, int64) Meter { return nopMeter{} }

// Done writes the file's line.
func (j *JSONProgress) Done(f File) {
	b, err := json.Marshal(struct {
		Event string `json:"event"`
		File
	}{"file", f})
	if err != nil {
		return
	}
	j.mu.Lock()
	j.w.Write(append(b, '\n'))
	j.mu.Unlock()
}
