package client

import (
	"errors"
)

// Kinds of failure. Every error the package returns wraps at most one of
// them; ExitCode turns it into the process exit status documented in
// docs/client.md.
var (
	ErrUsage      = errors.New("usage")
	ErrConnect    = errors.New("connection failed")
	ErrAuth       = errors.New("login refused")
	ErrTrust      = errors.New("server not trusted")
	ErrRemote     = errors.New("server refused")
	ErrLocal      = errors.New("local file")
	ErrIncomplete = errors.New("transfer incomplete")
)

// Exit statuses, one per kind; 1 is any other failure.
const (
	ExitOK         = 0
	ExitFailure    = 1
	ExitUsage      = 2
	ExitConnect    = 3
	ExitAuth       = 4
	ExitTrust      = 5
	ExitRemote     = 6
	ExitLocal      = 7
	ExitIncomplete = 8
)

// ExitCode maps an error returned by this package to an exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrTrust):
		return ExitTrust
	case errors.Is(err, ErrAuth):
		return ExitAuth
	case errors.Is(err, ErrConnect):
		return ExitConnect
	case errors.Is(err, ErrIncomplete):
		return ExitIncomplete
	case errors.Is(err, ErrLocal):
		return ExitLocal
	case errors.Is(err, ErrRemote):
		return ExitRemote
	}
	return ExitFailure
}

// UsageError is a usage mistake found by the caller (exit status 2).
func UsageError(msg string) error { return withKind(ErrUsage, errors.New(msg)) }

// kindError attaches a kind to an error without changing its message.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// withKind marks err as kind unless it already carries a kind.
func withKind(kind, err error) error {
	if err == nil {
		return nil
	}
	for _, k := range []error{ErrUsage, ErrConnect, ErrAuth, ErrTrust, ErrRemote, ErrLocal, ErrIncomplete} {
		if errors.Is(err, k) {
			return err
		}
	}
	return &kindError{kind: kind, err: err}
}
