package core

import (
	"sync/atomic"
	"time"
)

// Progress is one transfer in progress of a session, as `ferry status`
// shows it: every protocol opens one per file it moves (Conn.Progress),
// adds the bytes as its core.Transfer meter or its reads and writes count
// them, and ends it when the file is done.
type Progress struct {
	cn    *Conn
	dir   Direction
	path  string
	start time.Time
	bytes atomic.Int64
}

// Progress opens the progress of a transfer of path in direction d; the
// caller calls Done when it ends. Nil-safe: a nil *Progress does nothing.
func (cn *Conn) Progress(d Direction, path string) *Progress {
	p := &Progress{cn: cn, dir: d, path: path, start: time.Now()}
	cn.mu.Lock()
	if cn.moving == nil {
		cn.moving = map[*Progress]struct{}{}
	}
	cn.moving[p] = struct{}{}
	cn.mu.Unlock()
	return p
}

// Add counts n more bytes moved.
func (p *Progress) Add(n int64) {
	if p != nil {
		p.bytes.Add(n)
	}
}

// Done ends the progress; it may be called more than once.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	p.cn.mu.Lock()
	delete(p.cn.moving, p)
	p.cn.mu.Unlock()
}

// TransferInfo is a transfer in progress in `ferry status`.
type TransferInfo struct {
	Path      string    `json:"path"`
	Direction string    `json:"direction"` // "upload" or "download"
	Bytes     int64     `json:"bytes"`     // moved so far
	Since     time.Time `json:"since"`
	Rate      int64     `json:"rate"` // bytes per second since it began
}

// info is p as status shows it at now.
func (p *Progress) info(now time.Time) TransferInfo {
	ti := TransferInfo{Path: p.path, Direction: "upload", Bytes: p.bytes.Load(), Since: p.start.UTC()}
	if p.dir == Down {
		ti.Direction = "download"
	}
	if d := now.Sub(p.start); d > 0 {
		ti.Rate = int64(float64(ti.Bytes) / d.Seconds())
	}
	return ti
}
