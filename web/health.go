package web

import (
	"net/http"
)

// healthz answers a load balancer's check: 200 "ok" when the store and the
// storage answer (core.Healthy), else 503. It needs no login and counts
// no failure; the core runs the checks at most once a second and within a
// few seconds, so a flood of checks costs the store nothing more.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "GET or HEAD only", http.StatusMethodNotAllowed)
		return
	}
	if err := s.core.Healthy(r.Context()); err != nil {
		s.core.Warn("health.failed", "health check failed: /healthz answers 503", "err", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
