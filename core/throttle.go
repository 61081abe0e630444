package core

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttle lets at most one line of each kind reach the log per interval.
// The lines held back are counted; when the interval ends a summary line
// reports the count, so a flood costs a few lines and loses no number.
type throttle struct {
	out   *slog.Logger
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*held
}

type held struct {
	count int
	msg   string
	attrs []any
	level slog.Level
}

func newThrottle(log *slog.Logger, every time.Duration) *throttle {
	return &throttle{out: log, every: every, kinds: map[string]*held{}}
}

func (t *throttle) log(level slog.Level, kind, msg string, attrs ...any) {
	t.mu.Lock()
	if h, ok := t.kinds[kind]; ok {
		h.count++
		h.msg, h.attrs, h.level = msg, attrs, level
		t.mu.Unlock()
		return
	}
	t.kinds[kind] = &held{}
	t.mu.Unlock()
	t.out.Log(context.Background(), level, msg, attrs...)
	time.AfterFunc(t.every, func() { t.flush(kind) })
}

// flush ends a kind's interval: the held-back lines are summed up in one
// line (the last one's words, with the count), and the next line of that
// kind opens a new interval.
func (t *throttle) flush(kind string) {
	t.mu.Lock()
	h := t.kinds[kind]
	delete(t.kinds, kind)
	t.mu.Unlock()
	if h != nil && h.count > 0 {
		t.out.Log(context.Background(), h.level, h.msg+" (repeated)", append(h.attrs, "repeated", h.count, "within", t.every.String())...)
	}
}
