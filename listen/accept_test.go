package listen

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
)

// flakyListener fails its first Accept with EMFILE, as a machine out of
// file descriptors does, then hands out one connection, then is closed.
type flakyListener struct {
	net.Listener
	calls int
	conn  net.Conn
}

func (f *flakyListener) Accept() (net.Conn, error) {
	f.calls++
	switch f.calls {
	case 1:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: temporaryErr{syscall.EMFILE}}
	case 2:
		return f.conn, nil
	}
	return nil, net.ErrClosed
}

type temporaryErr struct{ error }

func (temporaryErr) Temporary() bool { return true }
func (temporaryErr) Timeout() bool   { return false }

func TestAcceptRetriesTemporaryErrors(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ln := &flakyListener{conn: a}
	var got []net.Conn
	err := Accept(ln, slog.New(slog.NewTextHandler(io.Discard, nil)), func(c net.Conn) { got = append(got, c) })
	if !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept returned %v, want net.ErrClosed", err)
	}
	if len(got) != 1 || got[0] != a {
		t.Fatalf("handled %d connections, want the one after the temporary error", len(got))
	}
}

func TestAcceptReturnsFatalErrors(t *testing.T) {
	boom := errors.New("boom")
	err := Accept(errListener{boom}, slog.New(slog.NewTextHandler(io.Discard, nil)), func(net.Conn) { t.Fatal("handled") })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

type errListener struct{ err error }

func (e errListener) Accept() (net.Conn, error) { return nil, e.err }
func (errListener) Close() error                { return nil }
func (errListener) Addr() net.Addr              { return &net.TCPAddr{} }
