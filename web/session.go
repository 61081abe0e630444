package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"

	"github.com/ferry-project/ferry/store"
)

// session is a logged-in browser or an API token: who, and the secret that
// state-changing browser requests must echo (CSRF).
type session struct {
	user    string
	csrf    string
	created time.Time
	seen    time.Time
}

// sessions maps random secrets to sessions. Keys are the SHA-256 of the
// secret, so neither the map nor the store holds a usable cookie or token.
// With a store (every node of a cluster shares it) the store is the truth
// and a login on one node is valid on the next; without one the map is.
type sessions struct {
	kind           string // "web" or "token", the store's name for them
	idle, lifetime time.Duration
	now            func() time.Time
	db             SessionStore // nil: in memory only

	mu sync.Mutex
	m  map[[32]byte]*session
	// touched is when this node last wrote a session's seen time to the
	// store: at most once a minute per session, not on every request.
	touched map[[32]byte]time.Time
}

// SessionStore keeps browser sessions and tokens for every node; the
// store package's DB implements it.
type SessionStore interface {
	PutSession(ctx context.Context, w store.WebSession, idleBefore, createdBefore time.Time) error
	GetSession(ctx context.Context, key string) (store.WebSession, error)
	TouchSession(ctx context.Context, key string, seen time.Time) error
	DropSession(ctx context.Context, key string) error
	DropUserSessions(ctx context.Context, kind, user string) error
}

// storeTimeout bounds one session query: a store that hangs answers
// "log in again", not a hung request.
const storeTimeout = 5 * time.Second

// touchEvery is how stale a session's seen time in the store may get.
const touchEvery = time.Minute

func newSessions(kind string, idle, lifetime time.Duration, db SessionStore) *sessions {
	return &sessions{kind: kind, idle: idle, lifetime: lifetime, now: time.Now, db: db,
		m: map[[32]byte]*session{}, touched: map[[32]byte]time.Time{}}
}

// randomSecret returns 256 random bits, URL-safe.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), storeTimeout)
}

// create starts a session for user and returns its secret.
func (s *sessions) create(user string) (string, *session, error) {
	secret := randomSecret()
	now := s.now()
	se := &session{user: user, csrf: randomSecret(), created: now, seen: now}
	k := sha256.Sum256([]byte(secret))
	if s.db != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		w := store.WebSession{Key: hex.EncodeToString(k[:]), Kind: s.kind, User: user, CSRF: se.csrf, Created: now, Seen: now}
		if err := s.db.PutSession(ctx, w, now.Add(-s.idle), now.Add(-s.lifetime)); err != nil {
			return "", nil, err
		}
		return secret, se, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gc(now)
	s.m[k] = se
	return secret, se, nil
}

// get returns the live session for secret and marks it used.
func (s *sessions) get(secret string) (*session, bool) {
	if secret == "" {
		return nil, false
	}
	k := sha256.Sum256([]byte(secret))
	now := s.now()
	if s.db != nil {
		return s.getStored(k, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[k]
	if !ok {
		return nil, false
	}
	if s.expired(se, now) {
		delete(s.m, k)
		return nil, false
	}
	se.seen = now
	return se, true
}

func (s *sessions) getStored(k [32]byte, now time.Time) (*session, bool) {
	ctx, cancel := storeCtx()
	defer cancel()
	key := hex.EncodeToString(k[:])
	w, err := s.db.GetSession(ctx, key)
	if err != nil || w.Kind != s.kind {
		return nil, false
	}
	se := &session{user: w.User, csrf: w.CSRF, created: w.Created, seen: w.Seen}
	if s.expired(se, now) {
		_ = s.db.DropSession(ctx, key)
		return nil, false
	}
	s.mu.Lock()
	last, ok := s.touched[k]
	stale := !ok || now.Sub(last) >= touchEvery
	if stale {
		if len(s.touched) > 100000 {
			clear(s.touched) // only a cache of write times
		}
		s.touched[k] = now
	}
	s.mu.Unlock()
	if stale && now.Sub(w.Seen) >= touchEvery {
		_ = s.db.TouchSession(ctx, key, now)
	}
	se.seen = now
	return se, true
}

// drop ends the session for secret, if any.
func (s *sessions) drop(secret string) {
	k := sha256.Sum256([]byte(secret))
	if s.db != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		_ = s.db.DropSession(ctx, hex.EncodeToString(k[:]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	delete(s.touched, k)
}

// dropUser ends every session of user (a deleted account).
func (s *sessions) dropUser(user string) {
	if s.db != nil {
		ctx, cancel := storeCtx()
		defer cancel()
		_ = s.db.DropUserSessions(ctx, s.kind, user)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, se := range s.m {
		if se.user == user {
			delete(s.m, k)
		}
	}
}

func (s *sessions) expired(se *session, now time.Time) bool {
	return now.Sub(se.seen) > s.idle || now.Sub(se.created) > s.lifetime
}

// gc drops expired sessions; called on create so the map stays bounded by
// the logins of one lifetime.
func (s *sessions) gc(now time.Time) {
	for k, se := range s.m {
		if s.expired(se, now) {
			delete(s.m, k)
		}
	}
}

// checkCSRF compares a request's token with the session's in constant time.
func (se *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(se.csrf)) == 1
}
