// Package audit writes the audit log: one JSON object per line for every
// event of the session core (logins, session ends, every file operation
// of every protocol, every refusal), to its own file, rotated by size and
// reopened on request (SIGHUP, for logrotate). It is a core.Sink: it sees
// the core's records and nothing else, so no password or token can reach
// it.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/ferry-project/ferry/core"
)

// Line is the JSON form of one record; empty fields are left out.
type Line struct {
	Time       string `json:"time"` // RFC 3339, UTC, with milliseconds
	Event      string `json:"event"`
	Session    uint64 `json:"session,omitempty"`
	Protocol   string `json:"protocol"`
	Remote     string `json:"remote"`
	User       string `json:"user,omitempty"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Target     string `json:"target,omitempty"`
	Bytes      *int64 `json:"bytes,omitempty"` // uploads and downloads, 0 included
	DurationMS *int64 `json:"duration_ms,omitempty"`
	Result     string `json:"result,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Offence    string `json:"offence,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	Error      string `json:"error,omitempty"`
}

// TimeFormat is RFC 3339 with milliseconds, always in UTC.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Of is the line of a record.
func Of(r *core.Record) Line {
	l := Line{
		Time:     r.Time.UTC().Format(TimeFormat),
		Event:    r.Kind,
		Session:  r.Session,
		Protocol: string(r.Service),
		Remote:   r.Remote.String(),
		User:     r.User,
		Method:   r.Method,
		Path:     r.Path,
		Target:   r.Target,
		Result:   r.Result,
		Reason:   r.Reason,
		Offence:  r.Offence,
		SHA256:   r.SHA256,
		Error:    r.Err,
	}
	switch r.Kind {
	case core.EventUpload, core.EventDownload:
		b, d := r.Bytes, r.Duration.Milliseconds()
		l.Bytes, l.DurationMS = &b, &d
	case core.EventSessionEnd:
		d := r.Duration.Milliseconds()
		l.DurationMS = &d
	}
	return l
}

// Log is an audit log file. It is safe for concurrent use.
type Log struct {
	path    string
	maxSize int64
	keep    int
	// onError reports a write or rotation failure; the record is lost,
	// the server goes on.
	onError func(error)

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (creating, 0600) the audit log at path for appending. When a
// write would take the file past maxSize bytes (0: never), the file is
// renamed path.1 (path.1 to path.2, and so on, keeping keep of them) and
// a new one begun. onError is told of failures to write or rotate.
func Open(path string, maxSize int64, keep int, onError func(error)) (*Log, error) {
	if onError == nil {
		onError = func(error) {}
	}
	l := &Log{path: path, maxSize: maxSize, keep: keep, onError: onError}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Record writes r as one line (core.Sink).
func (l *Log) Record(r *core.Record) {
	b, err := json.Marshal(Of(r))
	if err != nil {
		l.onError(err)
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotate(); err != nil {
			l.onError(err)
			if l.f == nil {
				return
			}
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		l.onError(fmt.Errorf("audit log: %w", err))
	}
}

// rotate shifts path.i to path.i+1, dropping what passes keep, renames
// the file path.1 and opens a new one (the same one again when a rename
// failed, so the log goes on). The caller holds l.mu.
func (l *Log) rotate() error {
	l.f.Close()
	l.f = nil
	var err error
	if l.keep <= 0 {
		err = os.Remove(l.path)
	} else {
		os.Remove(fmt.Sprintf("%s.%d", l.path, l.keep))
		for i := l.keep - 1; i >= 1 && err == nil; i-- {
			if e := os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1)); !errors.Is(e, fs.ErrNotExist) {
				err = e
			}
		}
		if err == nil {
			err = os.Rename(l.path, l.path+".1")
		}
	}
	if err != nil {
		err = fmt.Errorf("audit log rotation: %w", err)
	}
	return errors.Join(err, l.open())
}

// Reopen closes the file and opens path again, for logrotate's rename
// followed by SIGHUP.
func (l *Log) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	return l.open()
}

// Close closes the file; later records are dropped.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
