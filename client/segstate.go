package client

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// stateSuffix names the record of a segmented transfer beside its part
// file: where each segment starts, ends and how far it got.
const stateSuffix = ".segments"

// segment is one range of a file, [Start, End), done bytes of it moved
// (every byte below Start+done is in place).
type segment struct {
	Start, End int64
	done       atomic.Int64
	finished   atomic.Bool
	// lag is how many of done bytes may not be acknowledged yet (an
	// upload): a saved state counts them as not done.
	lag int64
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
		s := &segment{Start: 0, End: from}
		s.done.Store(from)
		s.finished.Store(true)
		st.Segments = append(st.Segments, s)
		st.started = from
	}
	step := (size - from + int64(n) - 1) / int64(n)
	for off := from; off < size; off += step {
		st.Segments = append(st.Segments, &segment{Start: off, End: min(off+step, size)})
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
		seg := &segment{Start: s.Start, End: s.End}
		seg.done.Store(s.Done)
		seg.finished.Store(s.Done == s.End-s.Start)
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
	var n int64
	for _, s := range st.Segments {
		n += s.done.Load()
	}
	return n
}

// pending lists the segments not finished.
func (st *segState) pending() []*segment {
	var out []*segment
	for _, s := range st.Segments {
		if s.done.Load() < s.End-s.Start {
			out = append(out, s)
		}
	}
	return out
}

// save writes the record (to a temporary file renamed over the old one,
// so that a crash leaves one or the other).
func (st *segState) save() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	j := segJSON{Version: 1, Size: st.Size, Modified: st.Modified}
	for _, s := range st.Segments {
		d := s.done.Load()
		if !s.finished.Load() {
			d = max(0, d-s.lag)
		}
		j.Segments = append(j.Segments, segSave{Start: s.Start, End: s.End, Done: d})
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
