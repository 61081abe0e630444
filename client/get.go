package client

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"
)

// rangeGetter copies a byte range of a file in order with many requests
// in flight (SFTP).
type rangeGetter interface {
	getRange(p string, off, n int64, w io.Writer) (int64, error)
}

// segmentsFor is how many segments a file of n bytes moves in over c.
func (x *Transfer) segmentsFor(pool *Pool, c Conn, n int64, up bool) int {
	if up {
		if _, ok := c.(offsetWriter); !ok {
			return 1
		}
	} else if _, ok := c.(sectioner); !ok {
		if _, ok := c.(rangeGetter); !ok {
			return 1
		}
	} else if r, ok := c.(interface{ noRanges() bool }); ok && r.noRanges() {
		return 1 // a WebDAV server seen to ignore Range
	}
	if pool.Max() < 2 {
		return 1
	}
	want, minSeg := x.Segments, int64(1<<20)
	if want == 0 {
		want, minSeg = autoSegments(pool.RTT(), perRoundTrip(c)), 8<<20
	}
	return max(1, min(want, int(n/minSeg)))
}

// resumeConns is how many connections continue the segments of st.
func (x *Transfer) resumeConns(pool *Pool, c Conn, st *segState, up bool) int {
	return max(1, x.segmentsFor(pool, c, st.Size-st.done(), up))
}

// autoSegments chooses segments from the round trip: enough streams to
// keep 1 Gbit/s in flight when one stream carries perRT bytes per round
// trip. One on a LAN, at most 8.
func autoSegments(rtt time.Duration, perRT float64) int {
	n := int(math.Ceil(rtt.Seconds() * 125e6 / perRT))
	if n < 2 {
		return 1
	}
	return min(n, 8)
}

// perRoundTrip is what one stream of c carries per round trip. An SFTP
// session: about 1 MiB, half the 2 MiB SSH channel window, as the
// window's adjustments come back a round trip late (7 segments at 54 ms).
// A TCP stream of its own (FTP's data connection, HTTP): about 2 MiB with
// Linux's default buffers (bench/tcpfill across the 50 ms link: 42-50 MB/s
// for one stream, 110-118 for four; 4 segments at 54 ms, measured as fast
// as 7 over FTPS and HTTPS, with 3 logins fewer over FTP).
func perRoundTrip(c Conn) float64 {
	if _, ok := c.(sharer); ok {
		return 1 << 20
	}
	return 2 << 20
}

// getFile downloads one file over c (and, for segments, more connections
// from pool) into j.local, through j.local+".part".
func (x *Transfer) getFile(pool *Pool, c Conn, j job) (File, error) {
	rec := File{Remote: j.remote, Local: j.local, Size: j.size}
	part := j.local + partSuffix
	var offset int64
	if x.Resume {
		if _, err := os.Stat(part + stateSuffix); err == nil {
			if st, ok := loadState(part+stateSuffix, j.size, j.mtime); ok {
				if _, err := os.Stat(part); err == nil {
					return x.getSegments(pool, c, j, rec, st, x.resumeConns(pool, c, st, false))
				}
			}
			// The record of another version of the file, or of a part
			// that is gone: a segmented part has holes, so its size says
			// nothing. Start again.
			x.notice("%s: the partial download is of another version of the file; starting again", j.remote)
			os.Remove(part)
		}
		if fi, err := os.Stat(part); err == nil {
			offset = fi.Size()
		} else if fi, err := os.Stat(j.local); err == nil && fi.Mode().IsRegular() {
			switch {
			case fi.Size() == j.size:
				rec.Skipped = true
				os.Remove(part + stateSuffix)
				return rec, nil
			case fi.Size() < j.size:
				if err := os.Rename(j.local, part); err != nil {
					return rec, withKind(ErrLocal, err)
				}
				offset = fi.Size()
			}
		}
		if offset > j.size {
			return rec, withKind(ErrLocal, fmt.Errorf("%s is larger (%d bytes) than %s (%d bytes): not a partial copy of it", part, offset, j.remote, j.size))
		}
	}
	os.Remove(part + stateSuffix)
	if n := x.segmentsFor(pool, c, j.size-offset, false); n > 1 {
		return x.getSegments(pool, c, j, rec, newState(part+stateSuffix, j.size, j.mtime, offset, n), n)
	}
	flags := os.O_WRONLY | os.O_CREATE
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return rec, withKind(ErrLocal, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return rec, withKind(ErrLocal, err)
	}
	rec.ResumedFrom = offset
	var n int64
	if offset < j.size || j.size == 0 {
		m := x.meter(path.Base(j.remote), j.size, offset)
		w := &countWriter{w: f, m: m}
		if rg, ok := c.(rangeGetter); ok {
			n, err = rg.getRange(j.remote, offset, j.size-offset, w)
		} else {
			n, err = copyOpen(c, j.remote, offset, w)
		}
		m.Finish()
		if err != nil {
			// What moved is recorded: a file cut after bytes moved is not
			// tried again from the start (Transfer.one).
			rec.Transferred = n
			return rec, transferErr("download", j.remote, offset+n, n, err)
		}
	}
	if err := f.Close(); err != nil {
		return rec, withKind(ErrLocal, err)
	}
	rec.Transferred = n
	if got := offset + n; got != j.size {
		return rec, withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: got %d bytes, the server said %d (kept in %s)", j.remote, got, j.size, part))
	}
	return rec, finishDownload(part, j)
}

// copyOpen reads a file from offset to its end through Conn.Open.
func copyOpen(c Conn, p string, offset int64, w io.Writer) (int64, error) {
	r, err := c.Open(p, offset)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	cerr := r.Close()
	if err == nil && cerr != nil {
		err = cerr
	}
	return n, err
}

// copySection reads n bytes from off, by the fastest way c offers.
func copySection(c Conn, p string, off, n int64, w io.Writer) (int64, error) {
	if rg, ok := c.(rangeGetter); ok {
		return rg.getRange(p, off, n, w)
	}
	var r io.ReadCloser
	var err error
	if s, ok := c.(sectioner); ok {
		r, err = s.openSection(p, off, n)
	} else if r, err = c.Open(p, off); err == nil {
		r = &limitedReadCloser{r: io.LimitReader(r, n), c: r}
	}
	if err != nil {
		return 0, err
	}
	k, err := io.Copy(w, r)
	cerr := r.Close()
	if err == nil && k < n {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && cerr != nil {
		err = cerr
	}
	return k, err
}

// transferErr classifies a failure once bytes were moving: the local
// disk, a refusal before any byte, or an interrupted transfer that -c
// continues.
func transferErr(verb, name string, at, moved int64, err error) error {
	var we *writeError
	var re *readError
	switch {
	case errors.As(err, &we):
		return withKind(ErrLocal, we.err)
	case errors.As(err, &re):
		return withKind(ErrLocal, re.err)
	case moved == 0 && (errors.Is(err, ErrRemote) || errors.Is(err, ErrAuth) || errors.Is(err, ErrTrust)):
		return err
	}
	return withKind(ErrIncomplete, fmt.Errorf("%s of %s interrupted after %d bytes (run again with -c to continue): %v", verb, name, at, err))
}

// finishDownload publishes a complete part under its name with the
// server's modification time.
func finishDownload(part string, j job) error {
	if err := os.Rename(part, j.local); err != nil {
		return withKind(ErrLocal, err)
	}
	if !j.mtime.IsZero() {
		os.Chtimes(j.local, j.mtime, j.mtime)
	}
	return nil
}

// getSegments downloads the unfinished segments of st at once, each on
// its own connection (c and what the pool can lend), writing each into its
// place in the part file. The record beside the part says how far each
// segment got, so that -c continues every one.
func (x *Transfer) getSegments(pool *Pool, c Conn, j job, rec File, st *segState, conns int) (File, error) {
	part := j.local + partSuffix
	flags := os.O_RDWR | os.O_CREATE
	if st.fresh() {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return rec, withKind(ErrLocal, err)
	}
	defer f.Close()
	if err := st.save(); err != nil {
		return rec, withKind(ErrLocal, err)
	}
	before := st.done()
	rec.ResumedFrom = before
	m := x.meter(path.Base(j.remote), j.size, before)
	err = runSegments(pool, c, st, conns, func(c Conn, s *segment) error {
		from := s.Start + s.done.Load()
		k, err := copySection(c, j.remote, from, s.remaining(), &segWriter{f: f, s: s, m: m})
		switch {
		case errors.Is(err, errSegmentDone), err == nil && s.remaining() <= 0:
			return nil
		case err == nil:
			err = io.ErrUnexpectedEOF
		}
		return transferErr("download", j.remote, from+k, k, err)
	})
	m.Finish()
	rec.Segments = len(st.Segments)
	rec.Transferred = st.done() - before
	if err != nil {
		return rec, err
	}
	if err := f.Close(); err != nil {
		return rec, withKind(ErrLocal, err)
	}
	if fi, err := os.Stat(part); err != nil || fi.Size() != j.size {
		return rec, withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: %s has the wrong size", j.remote, part))
	}
	if err := finishDownload(part, j); err != nil {
		return rec, err
	}
	os.Remove(st.file)
	return rec, nil
}

// stealMin is the least a connection takes over from another's segment.
const stealMin = 4 << 20

// runSegments moves the segments of st over up to conns connections: c at
// once, and others as the pool lends them (dialled side by side). Each
// takes a segment nobody moves; when none is left it takes over half of
// the largest one still moving. The record is saved five times a second
// and at the end; the first failure is returned once every connection has
// stopped.
func runSegments(pool *Pool, c Conn, st *segState, conns int, move func(Conn, *segment) error) error {
	stopSave := make(chan struct{})
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				st.save()
			case <-stopSave:
				return
			}
		}
	}()
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	work := func(conn Conn) error {
		for {
			mu.Lock()
			failed := first != nil
			mu.Unlock()
			if failed {
				return nil
			}
			s := st.next()
			if s == nil {
				s = st.steal(stealMin)
			}
			if s == nil {
				return nil
			}
			err := move(conn, s)
			s.claimed.Store(false)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return err
			}
		}
	}
	for i := 1; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c2, ok := pool.tryGet(); ok {
				pool.release(c2, work(c2))
			}
		}()
	}
	work(c)
	wg.Wait()
	close(stopSave)
	<-saved
	if err := st.save(); err != nil && first == nil {
		first = withKind(ErrLocal, err)
	}
	if first == nil && st.done() != st.Size {
		first = withKind(ErrIncomplete, fmt.Errorf("segments incomplete (run again with -c to continue)"))
	}
	return first
}

// GetTo downloads remote to w (standard output: no part file, no resume).
func (x *Transfer) GetTo(remote string, w io.Writer) error {
	pool := x.thePool()
	c, err := pool.Get()
	if err != nil {
		return err
	}
	e, err := c.Stat(remote)
	if err == nil && e.Dir {
		err = withKind(ErrUsage, fmt.Errorf("%s is a folder: it cannot go to standard output", remote))
	}
	if err != nil {
		pool.release(c, err)
		return err
	}
	rec := File{Remote: remote, Local: "-", Size: e.Size}
	m := x.meter(path.Base(remote), e.Size, 0)
	var n atomic.Int64
	k, err := copyOpen(c, remote, 0, &countWriter{w: w, m: m, n: &n})
	m.Finish()
	pool.release(c, err)
	rec.Transferred = k
	if err != nil {
		return transferErr("download", remote, k, k, err)
	}
	if k != e.Size {
		return withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: got %d bytes, the server said %d", remote, k, e.Size))
	}
	x.record(rec)
	return nil
}
