package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
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
// secret, so the map never holds a usable cookie or token.
type sessions struct {
	idle, lifetime time.Duration
	now            func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*session
}

func newSessions(idle, lifetime time.Duration) *sessions {
	return &sessions{idle: idle, lifetime: lifetime, now: time.Now, m: map[[32]byte]*session{}}
}

// randomSecret returns 256 random bits, URL-safe.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user and returns its secret.
func (s *sessions) create(user string) (string, *session) {
	secret := randomSecret()
	now := s.now()
	se := &session{user: user, csrf: randomSecret(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gc(now)
	s.m[sha256.Sum256([]byte(secret))] = se
	return secret, se
}

// get returns the live session for secret and marks it used.
func (s *sessions) get(secret string) (*session, bool) {
	if secret == "" {
		return nil, false
	}
	k := sha256.Sum256([]byte(secret))
	now := s.now()
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

// drop ends the session for secret, if any.
func (s *sessions) drop(secret string) {
	k := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// dropUser ends every session of user (a deleted account).
func (s *sessions) dropUser(user string) {
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
