// Package coretest gives the tests of the protocol packages a logged-in
// core.Conn without a network or a user store, the way net/http/httptest
// gives handlers a request: the adapters' unit tests drive a real session
// core (admission, the user's file system, events) over an in-memory pipe.
package coretest

import (
	"log/slog"
	"net"
	"testing"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// Conn admits the server end of a pipe as a connection of svc, logs u in
// (opening u's home on disk as its file system, or fsys when given) and
// returns the session with the
// server and the client end of the pipe. All are closed when the test ends.
func Conn(t testing.TB, svc listen.Service, u store.User, log *slog.Logger, fsys ...vfs.FS) (cn *core.Conn, server, client net.Conn) {
	t.Helper()
	cfg := config.Default()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := core.Options{Config: cfg, Auth: auth.New(nil, nil, auth.Options{}), Log: log}
	if len(fsys) > 0 {
		o.OpenFS = func(store.User) (vfs.FS, error) { return fsys[0], nil }
	}
	cr, err := core.New(o)
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	cn, err = cr.Admit(srv, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cn.Close)
	if err := cn.Begin(u, "test"); err != nil {
		t.Fatal(err)
	}
	return cn, srv, cli
}
