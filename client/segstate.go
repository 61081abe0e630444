package client

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stateSuffix names the record of a segmented transfer beside its part
// file: where each segment starts, ends and how far it got.
const stateSuffix = ".segments"

// segment is one range of a file, [Start, end), done bytes of it moved
// (every byte below Start+done is in place). end shrinks when an idle
// connection takes over the second half of the range.
type segment struct {
	Start   int64
	end     atomic.Int64
	done    atomic.Int64
	claimed atomic.Bool // a connection is moving it
	// lag is how many of done bytes may not be acknowledged yet (an
	// upload): until acked, a saved state counts them as not done.
	lag   atomic.Int64
	acked atomic.Bool
}

func newSegment(start, end int64) *segment {
	s := &segment{Start: start}
	s.end.Store(end)
	return s
}

// remaining is how many bytes the segment still has to move.
func (s *segment) remaining() int64 { return s.end.Load() - s.Start - s.done.Load() }

// errSegmentDone stops a copy at the end of its segment.
var errSegmentDone = errors.New("segment complete")

// segWriter writes a download's bytes into the segment's place in the
// part file, up to the segment's end (which may move closer meanwhile).
type segWriter struct {
	f io.WriterAt
	s *segment
	m Meter
}

func (w *segWriter) Write(b []byte) (int, error) {
	pos, lim := w.s.Start+w.s.done.Load(), w.s.end.Load()
	if pos >= lim {
		return 0, errSegmentDone
	}
	cut := int64(len(b)) > lim-pos
	if cut {
		b = b[:lim-pos]
	}
	n, err := w.f.WriteAt(b, pos)
	w.s.done.Add(int64(n))
	w.m.Add(int64(n))
	switch {
	case err != nil:
		return n, &writeError{err}
	case cut:
		return n, errSegmentDone
	}
	return n, nil
}

// limit is where the segment ends now: no need to ask for bytes beyond.
func (w *segWriter) limit() int64 { return w.s.end.Load() }

// segReader reads an upload's bytes of the segment from the local file.
type segReader struct {
	f   io.ReaderAt
	s   *segment
	m   Meter
	err error
}

func (r *segReader) Read(b []byte) (int, error) {
	pos, lim := r.s.Start+r.s.done.Load(), r.s.end.Load()
	if pos >= lim {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), lim-pos)]
	n, err := r.f.ReadAt(b, pos)
	r.s.done.Add(int64(n))
	r.m.Add(int64(n))
	if err == io.EOF && n == len(b) {
		err = nil
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// segState is a segmented transfer's record, saved as JSON.
type segState struct {
	Size     int64
	Modified time.Time
	Segments []*segment
	file     string
	mu       sync.Mutex
	started  int64 // bytes done when this run began (0: a new transfer)
}

type segJSON struct {
	Version  int       `json:"version"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified,omitzero"`
	Segments []segSave `json:"segments"`
}

type segSave struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Done  int64 `json:"done"`
}

// newState splits [from, size) into n segments.
func newState(file string, size int64, mtime time.Time, from int64, n int) *segState {
	st := &segState{Size: size, Modified: mtime, file: file}
	if from > 0 {
		// What a single stream already brought counts as a finished
		// first segment.
		s := newSegment(0, from)
		s.done.Store(from)
		st.Segments = append(st.Segments, s)
		st.started = from
	}
	step := (size - from + int64(n) - 1) / int64(n)
	for off := from; off < size; off += step {
		st.Segments = append(st.Segments, newSegment(off, min(off+step, size)))
	}
	return st
}

// loadState reads a record and accepts it only for a file of the same
// size and modification time.
func loadState(file string, size int64, mtime time.Time) (*segState, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, false
	}
	var j segJSON
	if json.Unmarshal(b, &j) != nil || j.Version != 1 || j.Size != size || !sameTime(j.Modified, mtime) {
		return nil, false
	}
	st := &segState{Size: size, Modified: mtime, file: file}
	var end int64
	for _, s := range j.Segments {
		if s.Start != end || s.End < s.Start || s.Done < 0 || s.Done > s.End-s.Start {
			return nil, false
		}
		end = s.End
		seg := newSegment(s.Start, s.End)
		seg.done.Store(s.Done)
		st.Segments = append(st.Segments, seg)
		st.started += s.Done
	}
	if end != size {
		return nil, false
	}
	return st, true
}

// sameTime compares modification times to the second: what every
// protocol carries.
func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return a.Unix() == b.Unix()
}

func (st *segState) fresh() bool { return st.started == 0 }

// done is the number of bytes in place.
func (st *segState) done() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	var n int64
	for _, s := range st.Segments {
		n += min(s.done.Load(), s.end.Load()-s.Start)
	}
	return n
}

// next claims a segment no connection moves yet.
func (st *segState) next() *segment {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.Segments {
		if s.remaining() > 0 && !s.claimed.Load() {
			s.claimed.Store(true)
			return s
		}
	}
	return nil
}

// steal splits the segment with most left to move and claims its second
// half, so that a connection that finished early helps the slowest; nil
// when no segment has at least 2*least left.
func (st *segState) steal(least int64) *segment {
	st.mu.Lock()
	defer st.mu.Unlock()
	var big *segment
	for _, s := range st.Segments {
		if s.claimed.Load() && (big == nil || s.remaining() > big.remaining()) {
			big = s
		}
	}
	if big == nil || big.remaining() < 2*least {
		return nil
	}
	end := big.end.Load()
	mid := (big.Start + big.done.Load() + big.remaining()/2) &^ (64<<10 - 1)
	big.end.Store(mid)
	s := newSegment(mid, end)
	s.claimed.Store(true)
	st.Segments = append(st.Segments, s)
	slices.SortFunc(st.Segments, func(a, b *segment) int { return cmp.Compare(a.Start, b.Start) })
	return s
}

// save writes the record (to a temporary file renamed over the old one,
// so that a crash leaves one or the other).
func (st *segState) save() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	j := segJSON{Version: 1, Size: st.Size, Modified: st.Modified}
	for _, s := range st.Segments {
		end := s.end.Load()
		d := min(s.done.Load(), end-s.Start)
		if !s.acked.Load() {
			d = max(0, d-s.lag.Load())
		}
		j.Segments = append(j.Segments, segSave{Start: s.Start, End: end, Done: d})
	}
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(st.file), 0o700); err != nil {
		return err
	}
	tmp := st.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, st.file)
}
