package core

import (
	"net/netip"
	"time"

	"github.com/ferry-project/ferry/listen"
)

// Record is one event of the vocabulary as the sinks receive it: the
// audit log, and later the metrics and the defender, read these and
// nothing else. Fields that do not apply to a kind are zero. No field
// ever holds a password or a token.
type Record struct {
	Time     time.Time // UTC
	Kind     string    // one of the Event* constants
	Session  uint64    // 0 for a connection refused at admission
	Service  listen.Service
	Remote   netip.AddrPort
	User     string        // the session's user; for login.failed, the name tried
	Method   string        // login.ok, login.failed: password, publickey, ...
	Path     string        // file events and refusals: the virtual path
	Target   string        // rename: the new path; a scored refusal: what was refused
	Bytes    int64         // upload, download
	Duration time.Duration // upload, download, session.end
	Result   string        // file events: ok, failed, aborted
	Reason   string        // login.failed, refused
	Offence  string        // refused: what the defender scores it as (an Offence* constant), else ""
	SHA256   string        // upload, download: hex, when the whole file passed through
	Err      string        // a failed file event's error (virtual paths only)
}

// Sink receives every Record, synchronously, on the goroutine of the
// session that caused it, so it must be quick and safe for concurrent
// use. Sinks are given in Options.Sinks.
type Sink interface {
	Record(r *Record)
}

// Publish hands the sinks a record made outside any session: the
// defender's bans (EventBan). The time is set here.
func (c *Core) Publish(r *Record) { c.record(r) }

// record fills in what every record of a connection carries and hands it
// to the sinks.
func (c *Core) record(r *Record) {
	if len(c.sinks) == 0 {
		return
	}
	r.Time = time.Now().UTC()
	for _, s := range c.sinks {
		s.Record(r)
	}
}

// connRecord is a record of cn with its session, service, remote address
// and user; the caller holds cn.mu.
func (cn *Conn) connRecord(kind string) *Record {
	return &Record{Kind: kind, Session: cn.ID, Service: cn.Service, Remote: cn.Remote, User: cn.user.Name}
}
