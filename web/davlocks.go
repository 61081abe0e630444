package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/webdav"
)

// Bounds of a user's WebDAV locks: a client locking without end cannot
// grow the server's memory. Every lock a client asks for expires within
// davMaxLockTimeout (RFC 4918 §10.7 lets the server pick a shorter
// timeout than asked; "Infinite" gets it too), and a user holds at most
// davMaxLocks unexpired locks at once: the next LOCK is answered 507.
const (
	davMaxLockTimeout = time.Hour
	davMaxLocks       = 500
)

// errTooManyLocks is a LOCK past davMaxLocks.
var errTooManyLocks = errors.New("too many WebDAV locks held (at most " + strconv.Itoa(davMaxLocks) + " per user)")

// davLocks holds each user's WebDAV state: lock names are paths inside a
// home, so two users' "/a" are different resources. It lives in memory
// and ends with the server; its size is bounded by the number of users
// and the bounds above.
type davLocks struct {
	mu sync.Mutex
	m  map[string]*davUser
}

// davUser is one user's WebDAV state.
type davUser struct {
	locks davLockTable
	props davProps
	// mkcol serialises the user's MKCOLs: webdav locks the name of each
	// write for its duration and answers a second write to it 423 Locked,
	// and rclone's parallel transfers create the same folder at once
	// (TestDAVRclone failed with "mkParentDir failed: 423 Locked").
	mkcol sync.Mutex
}

func (l *davLocks) of(user string) *davUser {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*davUser{}
	}
	du, ok := l.m[user]
	if !ok {
		du = &davUser{locks: davLockTable{ls: webdav.NewMemLS()}}
		l.m[user] = du
	}
	return du
}

// davLockTable is the library's lock system (webdav.NewMemLS, which drops
// expired locks at each of its operations) with a count of the locks
// clients hold. The library's own locks for one request (a write without
// an If header takes one, with no timeout, and releases it at the end)
// are not counted: the session limits bound them.
type davLockTable struct {
	ls   webdav.LockSystem
	mu   sync.Mutex
	held map[string]time.Time // token -> expiry, of clients' locks
}

// prune forgets the expired locks; t.mu is held.
func (t *davLockTable) prune(now time.Time) {
	for tok, exp := range t.held {
		if !now.Before(exp) {
			delete(t.held, tok)
		}
	}
}

// count is the number of unexpired locks clients hold.
func (t *davLockTable) count(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune(now)
	return len(t.held)
}

// davLockView is a user's lock table as one request's handler sees it: a
// refusal is kept as the request's error, so that davWriter answers it.
type davLockView struct {
	t *davLockTable
	d *davFS
}

// Confirm checks one list of an If header (RFC 4918 §10.4): every one of
// its conditions must hold. The library checks that a lock token is held
// and ignores the rest, so the entity tags ([ETAG]) and negations (Not)
// are checked here first: a list with a tag that does not match is false
// (litmus' fail_complex_cond_put), as is "Not <TOKEN>" for a live token.
func (v davLockView) Confirm(now time.Time, name0, name1 string, conds ...webdav.Condition) (func(), error) {
	etag := ""
	if fi, err := v.d.fsys.Stat(vpath(name0)); err == nil && name0 != "" {
		etag = fmt.Sprintf(`"%x%x"`, fi.ModTime().UnixNano(), fi.Size()) // as the library's ETag header
	}
	for _, c := range conds {
		holds := true
		switch {
		case c.ETag != "":
			holds = etag != "" && strings.TrimPrefix(c.ETag, "W/") == etag
		case c.Not:
			v.t.mu.Lock()
			v.t.prune(now)
			_, live := v.t.held[c.Token]
			v.t.mu.Unlock()
			holds = !live
		}
		if c.Not && c.ETag != "" {
			holds = !holds
		}
		if !holds {
			return nil, webdav.ErrConfirmationFailed
		}
	}
	return v.t.ls.Confirm(now, name0, name1, conds...)
}

func (v davLockView) Create(now time.Time, ld webdav.LockDetails) (string, error) {
	t := v.t
	t.mu.Lock()
	defer t.mu.Unlock()
	client := ld.Duration >= 0
	if client {
		t.prune(now)
		if len(t.held) >= davMaxLocks {
			return "", v.d.keep(errTooManyLocks)
		}
		ld.Duration = min(ld.Duration, davMaxLockTimeout)
	}
	tok, err := t.ls.Create(now, ld)
	if err == nil && client {
		if t.held == nil {
			t.held = map[string]time.Time{}
		}
		t.held[tok] = now.Add(ld.Duration)
	}
	return tok, err
}

func (v davLockView) Refresh(now time.Time, tok string, d time.Duration) (webdav.LockDetails, error) {
	t := v.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if d < 0 || d > davMaxLockTimeout {
		d = davMaxLockTimeout
	}
	ld, err := t.ls.Refresh(now, tok, d)
	if _, ok := t.held[tok]; ok && err == nil {
		t.held[tok] = now.Add(d)
	}
	return ld, err
}

func (v davLockView) Unlock(now time.Time, tok string) error {
	t := v.t
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.ls.Unlock(now, tok)
	if err == nil || errors.Is(err, webdav.ErrNoSuchLock) {
		delete(t.held, tok)
	}
	return err
}

// clampTimeout rewrites a LOCK's Timeout header so that the library
// grants, and answers, at most davMaxLockTimeout. A malformed header is
// left for the library to refuse (400).
func clampTimeout(h http.Header) {
	v, _, _ := strings.Cut(h.Get("Timeout"), ",")
	v = strings.TrimSpace(v)
	max := "Second-" + strconv.Itoa(int(davMaxLockTimeout/time.Second))
	switch {
	case v == "" || v == "Infinite":
		h.Set("Timeout", max)
	case strings.HasPrefix(v, "Second-"):
		n, err := strconv.ParseInt(v[len("Second-"):], 10, 64)
		if err == nil && n > int64(davMaxLockTimeout/time.Second) {
			h.Set("Timeout", max)
		}
	}
}
