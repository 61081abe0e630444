package server

import (
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/web"
)

func init() { starters = append(starters, startWeb) }

// startWeb serves HTTPS and the plain-HTTP listener beside it.
func startWeb(e *env) (protocol, error) {
	if !e.cfg.HTTP.Enabled {
		return nil, nil
	}
	s, err := web.New(web.Options{Config: e.cfg, Auth: e.auth, TLS: e.tls, Log: e.log, Limiter: e.limiter})
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
