package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultParallel is how many files move at once on a short path unless
// told otherwise; see AutoParallel.
const DefaultParallel = 4

// AutoParallel is how many files move at once when the user does not say,
// from the round trip: each small file costs a few round trips (open,
// the last read or write, close, a check), which only files moving side
// by side hide. DefaultParallel on a LAN, one per millisecond of round
// trip beyond (50 at 50 ms), at most 64. The pool's connections bound it
// (and SFTP and HTTP carry several files per connection).
func AutoParallel(rtt time.Duration) int {
	return max(DefaultParallel, min(64, int(rtt/time.Millisecond)))
}

// Meter follows the bytes of one file.
type Meter interface {
	Add(n int64)
	Finish()
}

// Progress follows a transfer: the work once known, each file as it
// starts and as it ends.
type Progress interface {
	Plan(files int, bytes int64)
	Start(name string, total, offset int64) Meter
	Done(f File)
}

// File is the outcome of one file transfer.
type File struct {
	Remote      string `json:"remote"`
	Local       string `json:"local"`
	Size        int64  `json:"size"`
	Transferred int64  `json:"transferred"`
	ResumedFrom int64  `json:"resumed_from,omitempty"`
	Skipped     bool   `json:"skipped,omitempty"` // already complete (-c)
	Segments    int    `json:"segments,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Transfer copies files between this machine and a server.
type Transfer struct {
	// Conn is the one connection to use, when Pool is nil.
	Conn Conn
	// Pool lends connections, several at once for parallel files and
	// segments.
	Pool *Pool
	// Resume continues partial files (-c) and skips complete ones.
	Resume bool
	// Recursive copies folder trees (-r).
	Recursive bool
	// Parallel is how many files move at once (0: AutoParallel).
	Parallel int
	// Segments is how many ranges of one large file move at once: 0
	// chooses from the round trip, 1 never splits a file.
	Segments int
	// Parents creates missing remote folders for an upload.
	Parents bool
	// KeepTimes sets the modification time of uploads to the local
	// file's (downloads always get the server's).
	KeepTimes bool
	// Progress follows the transfer; nil shows nothing.
	Progress Progress
	// Notice receives remarks for the user (skipped entries).
	Notice io.Writer
	// Files lists what was transferred so far.
	Files []File

	mu          sync.Mutex
	pool        *Pool
	interrupted atomic.Bool
}

func (x *Transfer) notice(format string, args ...any) {
	if x.Notice != nil {
		x.mu.Lock()
		fmt.Fprintf(x.Notice, "ferry: "+format+"\n", args...)
		x.mu.Unlock()
	}
}

func (x *Transfer) thePool() *Pool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pool == nil {
		x.pool = x.Pool
		if x.pool == nil {
			x.pool = poolOf(x.Conn)
		}
	}
	return x.pool
}

// Interrupt stops the transfer: connections are closed, partial files
// kept for -c, and the running call returns ErrIncomplete.
func (x *Transfer) Interrupt() {
	x.interrupted.Store(true)
	x.thePool().Abort()
}

func (x *Transfer) meter(name string, total, offset int64) Meter {
	if x.Progress == nil {
		return nopMeter{}
	}
	return x.Progress.Start(name, total, offset)
}

func (x *Transfer) record(f File) {
	x.mu.Lock()
	x.Files = append(x.Files, f)
	x.mu.Unlock()
	if x.Progress != nil {
		x.Progress.Done(f)
	}
}

type nopMeter struct{}

func (nopMeter) Add(int64) {}
func (nopMeter) Finish()   {}

// partSuffix names the file a download is written to until it is complete
// and checked; -c continues it.
const partSuffix = ".part"

// remoteBase is the last element of a remote path.
func remoteBase(p string) string {
	b := path.Base(strings.TrimRight(p, "/"))
	if b == "." || b == "/" || b == "" {
		return ""
	}
	return b
}

// job is one file to move.
type job struct {
	remote, local string
	size          int64
	mtime         time.Time
	up            bool
}

// Get downloads remote to local ("" = the remote name in the current
// folder; an existing folder = the remote name inside it).
func (x *Transfer) Get(remote, local string) error {
	pool := x.thePool()
	e, err := stat(pool, remote)
	if err != nil {
		return err
	}
	base := remoteBase(remote)
	if local == "" {
		if base == "" {
			return withKind(ErrUsage, fmt.Errorf("%s has no name to save under: give a LOCAL path", remote))
		}
		local = base
	} else if fi, err := os.Stat(local); err == nil && fi.IsDir() && base != "" {
		local = filepath.Join(local, base)
	}
	if !e.Dir {
		if e.Special {
			return withKind(ErrRemote, fmt.Errorf("%s is not a regular file", remote))
		}
		return x.run([]job{{remote: remote, local: local, size: e.Size, mtime: e.ModTime}})
	}
	if !x.Recursive {
		return withKind(ErrUsage, fmt.Errorf("%s is a folder: use -r to download it", remote))
	}
	pool.warm(min(x.parallel(pool), warmConns))
	t, err := x.walkRemote(pool, remote, true)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(local, 0o755); err != nil {
		return withKind(ErrLocal, err)
	}
	for _, d := range t.dirs {
		if err := os.MkdirAll(filepath.Join(local, filepath.FromSlash(d.rel)), 0o755); err != nil {
			return withKind(ErrLocal, err)
		}
	}
	jobs := make([]job, 0, len(t.files))
	for _, f := range t.files {
		jobs = append(jobs, job{remote: f.path, local: filepath.Join(local, filepath.FromSlash(f.rel)), size: f.size, mtime: f.mtime})
	}
	return x.run(jobs)
}

// stat asks one pooled connection about p.
func stat(pool *Pool, p string) (Entry, error) {
	c, err := pool.Get()
	if err != nil {
		return Entry{}, err
	}
	e, err := c.Stat(p)
	pool.release(c, err)
	return e, err
}

// Put uploads local to remote (a folder, or a path ending in "/", means
// the local name inside it).
func (x *Transfer) Put(local, remote string) error {
	fi, err := os.Stat(local)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	pool := x.thePool()
	name := filepath.Base(local)
	if strings.HasSuffix(remote, "/") || remote == "." || remote == "" {
		remote = path.Join(remote, name)
	} else if e, err := stat(pool, remote); err == nil && e.Dir {
		remote = path.Join(remote, name)
	}
	if !fi.IsDir() {
		if !fi.Mode().IsRegular() {
			return withKind(ErrLocal, fmt.Errorf("%s is not a regular file", local))
		}
		if x.Parents {
			if err := x.mkdirAll(pool, path.Dir(remote)); err != nil {
				return err
			}
		}
		return x.run([]job{{remote: remote, local: local, size: fi.Size(), mtime: fi.ModTime(), up: true}})
	}
	if !x.Recursive {
		return withKind(ErrUsage, fmt.Errorf("%s is a folder: use -r to upload it", local))
	}
	pool.warm(min(x.parallel(pool), warmConns))
	t, err := x.walkLocal(local, true)
	if err != nil {
		return err
	}
	if x.Parents {
		err = x.mkdirAll(pool, remote)
	} else {
		err = x.mkdirs(pool, []string{remote})
	}
	if err != nil {
		return err
	}
	if err := x.mkdirTree(pool, remote, t.dirs); err != nil {
		return err
	}
	jobs := make([]job, 0, len(t.files))
	for _, f := range t.files {
		jobs = append(jobs, job{remote: path.Join(remote, f.rel), local: f.path, size: f.size, mtime: f.mtime, up: true})
	}
	return x.run(jobs)
}

// run moves the files, Parallel at once. A file the server refuses is
// reported and the others go on; any other failure (the connection, the
// login, the local disk) stops what has not started yet.
func (x *Transfer) run(jobs []job) error {
	pool := x.thePool()
	if x.Progress != nil {
		var total int64
		for _, j := range jobs {
			total += j.size
		}
		x.Progress.Plan(len(jobs), total)
	}
	workers := max(1, min(x.parallel(pool), len(jobs), pool.Shares()))
	var (
		mu     sync.Mutex
		first  error
		failed int
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	queue := make(chan job)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				if stop.Load() {
					continue
				}
				err := x.one(pool, j)
				if err == nil {
					continue
				}
				if len(jobs) > 1 {
					x.notice("%s: %v", j.remote, err)
				}
				mu.Lock()
				failed++
				if first == nil {
					first = err
				}
				mu.Unlock()
				if !errors.Is(err, ErrRemote) {
					stop.Store(true)
				}
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
	if x.interrupted.Load() {
		return withKind(ErrIncomplete, errors.New("interrupted; run again with -c to continue"))
	}
	if failed > 1 {
		return fmt.Errorf("%d of %d files failed; the first: %w", failed, len(jobs), first)
	}
	return first
}

// warmConns is how many connections a tree dials while it is walked,
// before it knows how many files there are: enough to start on, few
// enough that a folder of three files does not cost the server sixteen
// logins. The others are dialled as the files need them.
const warmConns = 4

// parallel is how many files move at once: Parallel, or from the round
// trip.
func (x *Transfer) parallel(pool *Pool) int {
	if x.Parallel > 0 {
		return x.Parallel
	}
	return AutoParallel(pool.RTT())
}

// one moves one file over a pooled connection. A file that failed on a
// connection that broke before a byte moved is tried again on another
// (twice at most): a server's limit of connections per address, shared
// with other clients from the same address, can refuse one of the pool's
// connections at any moment, and an HTTP client reconnects lazily.
func (x *Transfer) one(pool *Pool, j job) error {
	for attempt := 1; ; attempt++ {
		c, err := pool.Get()
		if err != nil {
			return err
		}
		var rec File
		if j.up {
			rec, err = x.putFile(pool, c, j)
		} else {
			rec, err = x.getFile(pool, c, j)
		}
		if err != nil && attempt < 3 && rec.Transferred == 0 && rec.ResumedFrom == 0 && !x.interrupted.Load() &&
			(errors.Is(err, ErrConnect) || errors.Is(err, ErrIncomplete)) {
			pool.refused(c, err)
			x.notice("%s: %v; trying again on another connection", j.remote, err)
			time.Sleep(time.Duration(attempt) * 250 * time.Millisecond)
			continue
		}
		pool.release(c, err)
		if err != nil {
			rec.Error = err.Error()
		}
		x.record(rec)
		return err
	}
}

// mkdirs creates remote folders that do not exist yet; one that exists
// is fine.
func (x *Transfer) mkdirs(pool *Pool, dirs []string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, max(1, pool.Shares()))
	for _, d := range dirs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := mkdirOne(pool, d)
			mu.Lock()
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return first
}

func mkdirOne(pool *Pool, d string) error {
	c, err := pool.getNear()
	if err != nil {
		return err
	}
	defer func() { pool.release(c, err) }()
	merr := c.Mkdir(d)
	if merr == nil {
		return nil
	}
	e, serr := c.Stat(d)
	switch {
	case serr != nil:
		err = missingParent(c, d, merr)
	case !e.Dir:
		err = withKind(ErrRemote, fmt.Errorf("%s exists and is not a folder", d))
	}
	return err
}

// mkdirTree creates the folders of a tree under root, a level at a time.
func (x *Transfer) mkdirTree(pool *Pool, root string, dirs []item) error {
	byDepth := map[int][]string{}
	deepest := 0
	for _, d := range dirs {
		n := strings.Count(d.rel, "/")
		byDepth[n] = append(byDepth[n], path.Join(root, d.rel))
		deepest = max(deepest, n)
	}
	for n := 0; n <= deepest; n++ {
		if err := x.mkdirs(pool, byDepth[n]); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll creates p and its missing parents (mkdir -p).
func (x *Transfer) mkdirAll(pool *Pool, p string) error {
	c, err := pool.Get()
	if err != nil {
		return err
	}
	err = MkdirAll(c, p)
	pool.release(c, err)
	return err
}

// missingParent turns the failure to create p into a message naming the
// folder that is missing, when that is the cause.
func missingParent(c Conn, p string, err error) error {
	dir := path.Dir(p)
	if dir == "." || dir == "/" || dir == p {
		return err
	}
	if e, serr := c.Stat(dir); serr == nil && e.Dir {
		return err
	} else if serr == nil {
		return withKind(ErrRemote, fmt.Errorf("%s is not a folder (%w)", dir, err))
	}
	return withKind(ErrRemote, fmt.Errorf("the folder %s does not exist on the server: create it with mkdir -p or give --parents (%w)", dir, err))
}

// writeError marks a failure to write the local file, as opposed to a
// failure to read from the server.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type countWriter struct {
	w io.Writer
	m Meter
	n *atomic.Int64 // also counts, when set (segments)
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.m.Add(int64(n))
	if c.n != nil {
		c.n.Add(int64(n))
	}
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

// countReader reads the local file of an upload. Size lets SFTP pipeline
// its writes as it does for a plain file.
type countReader struct {
	r      io.Reader
	m      Meter
	remain int64
	err    error // a local read failure
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.m.Add(int64(n))
	c.remain -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *countReader) Size() int64 { return c.remain }

// Summary is the machine-readable account of a command (--json).
type Summary struct {
	Command string   `json:"command"`
	URL     string   `json:"url"`
	OK      bool     `json:"ok"`
	Error   string   `json:"error,omitempty"`
	Exit    int      `json:"exit_code"`
	Files   []File   `json:"files,omitempty"`
	Entries []Entry  `json:"entries,omitempty"`
	Actions []Action `json:"actions,omitempty"`
	Bytes   int64    `json:"bytes"`
	Seconds float64  `json:"seconds"`
}

// Finish fills the totals and the outcome.
func (s *Summary) Finish(files []File, start time.Time, err error) {
	s.Files = files
	for _, f := range files {
		s.Bytes += f.Transferred
	}
	s.Seconds = time.Since(start).Seconds()
	s.OK = err == nil
	s.Exit = ExitCode(err)
	if err != nil {
		s.Error = err.Error()
	}
}

// Redact returns a URL without its password, for messages and summaries.
func Redact(raw string) string { return redact(raw) }
