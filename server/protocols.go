package server

import (
	"github.com/ferry-project/ferry/ftp"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/sftp"
	"github.com/ferry-project/ferry/web"
)

// starters start each protocol family on the listeners the plan opened.
var starters = []starter{startFTP, startSFTP, startWeb}

func startFTP(e *env) (protocol, error) {
	if !e.cfg.FTP.Enabled {
		return nil, nil
	}
	s, err := ftp.New(ftp.Options{Config: e.cfg, Core: e.core, TLS: e.tls, Log: e.log, Plan: e.plan, Tickets: e.tickets.Keys()})
	if err != nil {
		return nil, err
	}
	if ln := e.listeners[listen.FTP]; ln != nil {
		e.serve("ftp", func() error { return s.Serve(ln, false) })
	}
	if ln := e.listeners[listen.FTPImplicit]; ln != nil {
		e.serve("ftps-implicit", func() error { return s.Serve(ln, true) })
	}
	return s, nil
}

func startSFTP(e *env) (protocol, error) {
	ln := e.listeners[listen.SFTP]
	if ln == nil {
		return nil, nil
	}
	s, err := sftp.New(sftp.Options{Config: e.cfg, Core: e.core, Log: e.log})
	if err != nil {
		return nil, err
	}
	e.serve("sftp", func() error { return s.Serve(ln) })
	return s, nil
}

func startWeb(e *env) (protocol, error) {
	if !e.cfg.HTTP.Enabled {
		return nil, nil
	}
	o := web.Options{Config: e.cfg, Core: e.core, TLS: e.tls, Log: e.log, Sessions: e.store}
	if e.acme != nil {
		o.ACME = e.acme
	}
	s, err := web.New(o)
	if err != nil {
		return nil, err
	}
	if ln := e.listeners[listen.HTTPS]; ln != nil {
		e.serve("https", func() error { return s.ServeHTTPS(ln) })
	}
	if ln := e.listeners[listen.HTTP]; ln != nil {
		e.serve("http", func() error { return s.ServeHTTP(ln) })
	}
	return s, nil
}
