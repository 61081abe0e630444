package client

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// rangePutter writes a byte range of a file with many requests in flight
// (SFTP); see sftpConn.putRange.
type rangePutter interface {
	putRange(p string, flags int, off int64, r io.Reader) error
	unacked() int64
}

// partialPutter continues an upload at an offset when it knows the whole
// size (HTTP: Content-Range).
type partialPutter interface {
	createAt(p string, offset, size int64) (io.WriteCloser, error)
}

// putFile uploads one file over c (and, for segments, more connections
// from pool).
func (x *Transfer) putFile(pool *Pool, c Conn, j job) (File, error) {
	rec := File{Remote: j.remote, Local: j.local, Size: j.size}
	var offset int64
	if x.Resume {
		if st, ok := x.loadUpState(c, j); ok {
			return x.putSegments(pool, c, j, rec, st, x.resumeConns(pool, c, st, true))
		}
		if e, err := c.Stat(j.remote); err == nil && !e.Dir {
			switch {
			case e.Size == j.size:
				rec.Skipped = true
				return rec, nil
			case e.Size > j.size:
				return rec, withKind(ErrRemote, fmt.Errorf("%s is larger (%d bytes) than %s (%d bytes): not a partial copy of it", j.remote, e.Size, j.local, j.size))
			}
			offset = e.Size
		}
	}
	if offset == 0 {
		if n := x.segmentsFor(pool, c, j.size, true); n > 1 {
			return x.putSegments(pool, c, j, rec, newState(x.upStateFile(c, j), j.size, j.mtime, 0, n), n)
		}
	}
	f, err := os.Open(j.local)
	if err != nil {
		return rec, withKind(ErrLocal, err)
	}
	defer f.Close()
	w, err := c.Create(j.remote, offset)
	if pp, ok := c.(partialPutter); ok && errors.Is(err, ErrNoResume) && offset < j.size {
		w, err = pp.createAt(j.remote, offset, j.size)
	}
	if errors.Is(err, ErrNoResume) {
		x.notice("%s: this protocol cannot continue an upload; sending the whole file", j.remote)
		offset = 0
		w, err = c.Create(j.remote, 0)
	}
	if err != nil {
		if errors.Is(err, ErrRemote) {
			err = missingParent(c, j.remote, err)
		}
		return rec, err
	}
	rec.ResumedFrom = offset
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		w.Close()
		return rec, withKind(ErrLocal, err)
	}
	m := x.meter(filepath.Base(j.local), j.size, offset)
	src := &countReader{r: f, m: m, remain: j.size - offset}
	n, err := io.Copy(w, src)
	cerr := w.Close()
	m.Finish()
	// What moved is recorded even when it fails: a file cut after bytes
	// moved is not tried again from the start (Transfer.one).
	rec.Transferred = n
	if src.err != nil {
		return rec, withKind(ErrLocal, src.err)
	}
	if n == 0 && offset == 0 && (errors.Is(err, ErrRemote) || err == nil && errors.Is(cerr, ErrRemote)) {
		// Refused before a byte was stored (HTTP answers a PUT at its end).
		return rec, missingParent(c, j.remote, cmp.Or(err, cerr))
	}
	if err != nil {
		return rec, withKind(ErrIncomplete, fmt.Errorf("upload of %s interrupted after %d bytes (run again with -c to continue): %v", j.local, offset+n, err))
	}
	if cerr != nil {
		if errors.Is(cerr, ErrRemote) {
			return rec, missingParent(c, j.remote, cerr)
		}
		return rec, withKind(ErrIncomplete, fmt.Errorf("upload of %s: %w", j.local, cerr))
	}
	rec.Transferred = n
	return rec, x.checkUpload(c, j, j.remote)
}

// checkUpload compares the server's size of p with the local file's and
// sets the modification time when asked to. On a connection that carries
// several requests at once (SFTP) both go out together: one round trip.
func (x *Transfer) checkUpload(c Conn, j job, p string) error {
	ts, setTime := c.(timeSetter)
	setTime = setTime && x.KeepTimes && !j.mtime.IsZero()
	_, together := c.(sharer)
	var terr error
	var wg sync.WaitGroup
	if setTime && together {
		wg.Add(1)
		go func() { defer wg.Done(); terr = ts.setModTime(p, j.mtime) }()
	}
	e, err := c.Stat(p)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("size check of %s: %w", p, err)
	}
	if e.Size != j.size {
		return withKind(ErrIncomplete, fmt.Errorf("size check failed for %s: the server has %d bytes, %s has %d", p, e.Size, j.local, j.size))
	}
	if setTime && !together {
		terr = ts.setModTime(p, j.mtime)
	}
	if terr != nil && !errors.Is(terr, errNoModTime) {
		return terr
	}
	return nil
}

// upStateFile is where the record of a segmented upload lives: the user's
// cache folder, named after the server, the remote path and the local
// file.
func (x *Transfer) upStateFile(c Conn, j job) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = filepath.Join(homeDir(), ".cache")
	}
	abs, _ := filepath.Abs(j.local)
	server := ""
	if t, ok := c.(interface{ target() Target }); ok {
		server = t.target().Addr()
	}
	sum := sha256.Sum256([]byte(server + "\x00" + j.remote + "\x00" + abs))
	return filepath.Join(dir, "ferry", "uploads", hex.EncodeToString(sum[:16])+stateSuffix)
}

// loadUpState finds the record of an interrupted segmented upload of the
// same local file whose part is still on the server.
func (x *Transfer) loadUpState(c Conn, j job) (*segState, bool) {
	if _, ok := c.(offsetWriter); !ok {
		return nil, false
	}
	st, ok := loadState(x.upStateFile(c, j), j.size, j.mtime)
	if !ok {
		return nil, false
	}
	if e, err := c.Stat(j.remote + partSuffix); err != nil || e.Dir {
		os.Remove(st.file)
		return nil, false
	}
	return st, true
}

// putSegments uploads the unfinished segments of st at once, each on its
// own connection, into j.remote+".part" on the server, written in place at
// each segment's offsets; the part is renamed over j.remote once complete
// and checked. The record lives in the user's cache folder.
func (x *Transfer) putSegments(pool *Pool, c Conn, j job, rec File, st *segState, conns int) (File, error) {
	ow := c.(offsetWriter)
	part := j.remote + partSuffix
	if st.fresh() {
		if err := ow.truncate(part, j.size); err != nil {
			if errors.Is(err, ErrRemote) {
				err = missingParent(c, j.remote, err)
			}
			return rec, err
		}
	}
	f, err := os.Open(j.local)
	if err != nil {
		return rec, withKind(ErrLocal, err)
	}
	defer f.Close()
	if err := st.save(); err != nil {
		return rec, withKind(ErrLocal, err)
	}
	before := st.done()
	rec.ResumedFrom = before
	m := x.meter(filepath.Base(j.local), j.size, before)
	err = runSegments(pool, c, st, conns, func(c Conn, s *segment) error {
		rp, ok := c.(rangePutter)
		if !ok {
			return errors.New("this connection cannot write at offsets")
		}
		s.lag.Store(rp.unacked())
		from := s.Start + s.done.Load()
		src := &segReader{f: f, s: s, m: m}
		if err := rp.putRange(part, os.O_WRONLY, from, src); err != nil {
			if src.err != nil {
				return withKind(ErrLocal, src.err)
			}
			return transferErr("upload", j.local, from, 1, err)
		}
		if s.remaining() > 0 {
			return withKind(ErrLocal, fmt.Errorf("%s: %w", j.local, io.ErrUnexpectedEOF))
		}
		s.acked.Store(true)
		return nil
	})
	m.Finish()
	rec.Segments = len(st.Segments)
	rec.Transferred = st.done() - before
	if err != nil {
		return rec, err
	}
	if err := x.checkUpload(c, j, part); err != nil {
		return rec, err
	}
	var rerr error
	if r, ok := c.(renamer); ok {
		rerr = r.replace(part, j.remote)
	} else {
		rerr = c.Rename(part, j.remote)
	}
	if rerr != nil {
		return rec, rerr
	}
	os.Remove(st.file)
	return rec, nil
}

// PutFrom uploads what r gives (standard input) to remote, which must name
// the file; the size check compares with the bytes read.
func (x *Transfer) PutFrom(r io.Reader, remote string) error {
	if remoteBase(remote) == "" || remote[len(remote)-1] == '/' {
		return withKind(ErrUsage, fmt.Errorf("standard input has no name: the URL must name the file to create, not a folder"))
	}
	pool := x.thePool()
	c, err := pool.Get()
	if err != nil {
		return err
	}
	if x.Parents {
		if err := MkdirAll(c, parentDir(remote)); err != nil {
			pool.release(c, err)
			return err
		}
	}
	start := time.Now()
	rec := File{Remote: remote, Local: "-"}
	w, err := c.Create(remote, 0)
	if err != nil {
		if errors.Is(err, ErrRemote) {
			err = missingParent(c, remote, err)
		}
		pool.release(c, err)
		return err
	}
	m := x.meter(remote, -1, 0)
	src := &countReader{r: r, m: m, remain: -1}
	n, err := io.Copy(w, src)
	cerr := w.Close()
	m.Finish()
	switch {
	case src.err != nil:
		err = withKind(ErrLocal, src.err)
	case err != nil:
		err = withKind(ErrIncomplete, fmt.Errorf("upload of standard input interrupted after %d bytes: %v", n, err))
	case cerr != nil:
		err = withKind(ErrIncomplete, fmt.Errorf("upload of standard input: %w", cerr))
	default:
		err = x.checkUpload(c, job{remote: remote, local: "standard input", size: n, mtime: start}, remote)
	}
	pool.release(c, err)
	if err != nil {
		return err
	}
	rec.Size, rec.Transferred = n, n
	x.record(rec)
	return nil
}
