package core

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// ErrQuota is an upload or a new file past the user's quota. Adapters
// answer it in their protocol: FTP 552, HTTP 507, SFTP failure.
var ErrQuota = errors.New("quota exceeded")

// usage is one user's quota and usage while the user has sessions,
// shared by them; every change is written through to the store.
type usage struct {
	name string
	st   store.Store

	mu   sync.Mutex
	q    store.Quota
	refs int
}

// quotaOf returns the usage of name for a new session, read from the
// store when the user has no other session (so `ferry user set` and
// `ferry user rescan` count from the next login on); nil without a store.
func (c *Core) quotaOf(name string) *usage {
	st := c.auth.Store
	if st == nil {
		return nil
	}
	q, err := st.Quota(context.Background(), name)
	if err != nil {
		c.log.Warn("quota not read: the session is not limited", "user", name, "err", err.Error())
		return nil
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	u := c.quotas[name]
	if u == nil {
		u = &usage{name: name, st: st}
		c.quotas[name] = u
	}
	u.mu.Lock()
	if u.refs == 0 {
		u.q = q
	} else {
		u.q.MaxBytes, u.q.MaxFiles = q.MaxBytes, q.MaxFiles
	}
	u.refs++
	u.mu.Unlock()
	return u
}

// release ends a session's use of u.
func (c *Core) release(u *usage) {
	if u == nil {
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	u.mu.Lock()
	u.refs--
	if u.refs == 0 {
		delete(c.quotas, u.name)
	}
	u.mu.Unlock()
}

// fits reports whether growing by bytes and files stays within the quota.
func (u *usage) fits(bytes, files int64) bool {
	if u == nil {
		return true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return (u.q.MaxBytes == 0 || bytes <= 0 || u.q.UsedBytes+bytes <= u.q.MaxBytes) &&
		(u.q.MaxFiles == 0 || files <= 0 || u.q.UsedFiles+files <= u.q.MaxFiles)
}

// add charges a done change to the usage and the store.
func (u *usage) add(bytes, files int64) {
	if u == nil || bytes == 0 && files == 0 {
		return
	}
	u.mu.Lock()
	u.q.UsedBytes = max(0, u.q.UsedBytes+bytes)
	u.q.UsedFiles = max(0, u.q.UsedFiles+files)
	u.mu.Unlock()
	u.st.AddUsage(context.Background(), u.name, bytes, files)
}

// Expect is the check before data flows when an upload's size is known
// (FTP ALLO, HTTP Content-Length, SFTP's size attribute at open): size
// bytes are coming, written from the upload's current position. What
// counts is what the file will grow by: over a replaced file its old size
// is credited, and an upload in place counts only what it adds past the
// file's end. ErrQuota, recorded as a refusal, when that does not fit;
// nil when it fits or no quota applies (up is not a counted upload).
func (cn *Conn) Expect(up vfs.Upload, size int64) error {
	q, ok := up.(*quotaUpload)
	if !ok || size <= 0 {
		return nil
	}
	final := q.pos + size
	if q.inPlace {
		final = max(final, q.end, q.old)
	}
	if !q.u.fits(final-q.old, 0) {
		return cn.overQuota()
	}
	return nil
}

// QuotaFits is the check before data flows of a request that carries new
// files whose total size is known before any is opened (a drop box's
// form): ErrQuota, recorded as a refusal, when size bytes and one more
// file do not fit.
func (cn *Conn) QuotaFits(size int64) error {
	cn.mu.Lock()
	u := cn.quota
	cn.mu.Unlock()
	if !u.fits(size, 1) {
		return cn.overQuota()
	}
	return nil
}

// overQuota records the refusal of a check before data flows and returns
// ErrQuota.
func (cn *Conn) overQuota() error {
	r := cn.recordOf(EventRefused)
	r.Reason = ErrQuota.Error()
	cn.core.record(r)
	return ErrQuota
}

// RefreshQuotas reads again the quota limits of every user with sessions,
// so that `ferry user set --quota-bytes/--quota-files` (another process)
// reaches running sessions; the server calls it every few seconds. The
// usage stays the one counted here, which the store mirrors.
func (c *Core) RefreshQuotas(ctx context.Context) {
	st := c.auth.Store
	if st == nil {
		return
	}
	c.qmu.Lock()
	live := make(map[string]*usage, len(c.quotas))
	for name, u := range c.quotas {
		live[name] = u
	}
	c.qmu.Unlock()
	for name, u := range live {
		q, err := st.Quota(ctx, name)
		if err != nil {
			continue // deleted, or the store is busy: the next round
		}
		u.mu.Lock()
		if u.q.MaxBytes != q.MaxBytes || u.q.MaxFiles != q.MaxFiles {
			c.log.Info("quota changed", "user", name, "max_bytes", q.MaxBytes, "max_files", q.MaxFiles)
		}
		u.q.MaxBytes, u.q.MaxFiles = q.MaxBytes, q.MaxFiles
		u.mu.Unlock()
	}
}

// sizeOf is the size of the regular file at p, and whether there is one.
func sizeOf(f vfs.FS, p string) (int64, bool) {
	fi, err := f.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	return fi.Size(), true
}

// quotaUpload counts an upload's bytes against the quota as they are
// written and charges the change when it is kept: an atomic upload at
// Commit, one in place (resume, append, random access) at Commit or
// Abort, whose bytes stay either way. A write past the quota fails with
// ErrQuota, and the adapters then abort the upload, so nothing past the
// quota is published.
type quotaUpload struct {
	vfs.Upload
	u       *usage
	inPlace bool
	cut     bool  // truncated: the file ends at end, even below old
	old     int64 // the file's size before, 0 for a new one
	isNew   bool
	end     int64 // the file's size as written so far
	pos     int64 // Write's offset
	refused bool  // a write was refused: the upload is never published
}

func (q *quotaUpload) grow(end int64) error {
	if end > q.end {
		if !q.u.fits(end-q.old, 0) {
			q.refused = true
			return ErrQuota
		}
		q.end = end
	}
	return nil
}

func (q *quotaUpload) Write(p []byte) (int, error) {
	if err := q.grow(q.pos + int64(len(p))); err != nil {
		return 0, err
	}
	n, err := q.Upload.Write(p)
	q.pos += int64(n)
	return n, err
}

func (q *quotaUpload) WriteAt(p []byte, off int64) (int, error) {
	if err := q.grow(off + int64(len(p))); err != nil {
		return 0, err
	}
	return q.Upload.WriteAt(p, off)
}

// ReadFrom keeps the splice(2) path of the local backend: it reads at
// most one byte more than the quota leaves, and fails when it got it.
func (q *quotaUpload) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := q.Upload.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{q}, r)
	}
	q.u.mu.Lock()
	limitEnd := q.u.q.MaxBytes - q.u.q.UsedBytes + q.old // the largest size the file may reach
	limited := q.u.q.MaxBytes > 0
	q.u.mu.Unlock()
	if limited {
		r = io.LimitReader(r, max(limitEnd-q.pos, 0)+1)
	}
	n, err := rf.ReadFrom(r)
	q.pos += n
	q.end = max(q.end, q.pos)
	if err == nil && limited && q.pos > limitEnd {
		q.refused = true
		return n, ErrQuota
	}
	return n, err
}

// Commit publishes the upload unless a write was refused (an SFTP client
// closes its handle after a failed write, which asks for a commit).
func (q *quotaUpload) Commit() error {
	if q.refused && !q.inPlace {
		q.Upload.Abort()
		return ErrQuota
	}
	err := q.Upload.Commit()
	if err == nil {
		q.charge()
	}
	return err
}

func (q *quotaUpload) Abort() error {
	err := q.Upload.Abort()
	if q.inPlace {
		q.charge()
	}
	return err
}

// charge counts what the upload changed: a new file or one that replaces
// another is as long as what was written (end); one written in place
// keeps its old length unless written past it or truncated.
func (q *quotaUpload) charge() {
	files := int64(0)
	if q.isNew {
		files = 1
	}
	final := q.end
	if q.inPlace && !q.cut {
		final = max(q.end, q.old)
	}
	q.u.add(final-q.old, files)
}

// Truncate counts a file made longer, and credits one made shorter when
// the upload is kept.
func (q *quotaUpload) Truncate(size int64) error {
	if err := q.grow(size); err != nil {
		return err
	}
	err := q.Upload.Truncate(size)
	if err == nil {
		q.end, q.cut = size, true
	}
	return err
}
