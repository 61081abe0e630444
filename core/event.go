package core

import (
	"context"
	"log/slog"
	"time"
)

// The vocabulary of events, the same in every protocol. Each log line of
// an event carries event=<kind> beside the session id, the service, the
// remote address and the user; file events add path (and target for a
// rename), bytes and duration.
const (
	EventSessionEnd  = "session.end"
	EventLoginOK     = "login.ok"
	EventLoginFailed = "login.failed"
	EventUpload      = "upload"
	EventDownload    = "download"
	EventMkdir       = "mkdir"
	EventRmdir       = "rmdir"
	EventDelete      = "delete"
	EventRename      = "rename"
	EventSetstat     = "setstat"
	EventLink        = "link"
	EventRefused     = "refused"
	// EventBan is the defender's ban of an address: Remote is the
	// address whose event tipped the score, Reason that event's kind,
	// Duration the ban's length. It comes through Core.Publish.
	EventBan = "ban"
)

// Offences: the refusals of a session that the defender scores against
// the client's address, each with its own weight (lockout.*_weight).
const (
	OffenceEscape  = "escape"  // a path that leads out of the home (Refuse)
	OffenceCommand = "command" // a malformed, unknown or refused command or request (Offend)
	OffenceData    = "data"    // a refused data connection (Offend)
)

// Reasons of login.failed besides an error's: ReasonDenied is a wrong
// password or key; ReasonUnknownUser a name with no account (the client
// is answered alike).
const (
	ReasonDenied      = "denied"
	ReasonUnknownUser = "unknown user"
)

// Results of a file event.
const (
	ResultOK      = "ok"
	ResultFailed  = "failed"
	ResultAborted = "aborted"
)

// Event is one file operation of a session.
type Event struct {
	Kind     string
	Path     string
	Target   string // rename: the new path; link: what the link points to
	Bytes    int64
	Duration time.Duration
	Result   string // ResultOK when empty and Err is nil
	Err      error
	// SHA256 is the file's hex digest when the whole file passed through
	// the transfer (Transfer.Sum), else "".
	SHA256 string
	Attrs  []any // protocol details (mode, tls, offset, ...)
}

// Emit logs a file event of the session: at info level when it succeeded,
// as a warning otherwise, with the error's text (never a server path:
// vfs errors carry virtual paths only).
func (cn *Conn) Emit(e Event) {
	result := e.Result
	if result == "" {
		result = ResultOK
		if e.Err != nil {
			result = ResultFailed
		}
	}
	if result != ResultOK {
		e.SHA256 = "" // the file did not pass through whole
	}
	log, r := cn.loggerAndRecord(e.Kind)
	r.Path, r.Target, r.Result, r.SHA256 = e.Path, e.Target, result, e.SHA256
	if e.Kind == EventUpload || e.Kind == EventDownload {
		r.Bytes, r.Duration = e.Bytes, e.Duration
	}
	if e.Err != nil {
		r.Err = e.Err.Error()
	}
	cn.core.record(r)
	attrs := []any{"event", e.Kind, "path", e.Path}
	if e.Target != "" {
		attrs = append(attrs, "target", e.Target)
	}
	if e.Kind == EventUpload || e.Kind == EventDownload {
		attrs = append(attrs, "bytes", e.Bytes, "duration", e.Duration.Round(time.Millisecond).String())
	}
	if e.SHA256 != "" {
		attrs = append(attrs, "sha256", e.SHA256)
	}
	attrs = append(attrs, "result", result)
	attrs = append(attrs, e.Attrs...)
	level := slog.LevelInfo
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err.Error())
	}
	if result != ResultOK {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, e.Kind, attrs...)
}

// event logs a session event (login, session end) through the session's
// logger; the caller holds cn.mu.
func (cn *Conn) event(kind string, attrs ...any) {
	cn.Log.Info(kind, append([]any{"event", kind}, attrs...)...)
}

// loggerAndRecord returns the session's logger and a record of kind.
func (cn *Conn) loggerAndRecord(kind string) (*slog.Logger, *Record) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.Log, cn.connRecord(kind)
}

// Digests reports whether transfers should compute the SHA-256 of whole
// files (Transfer.Hash) for the sinks: Options.Digests, set when the
// audit log is on.
func (cn *Conn) Digests() bool { return cn.core.digests }

func (cn *Conn) logger() *slog.Logger {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.Log
}
