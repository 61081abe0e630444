// Package metrics exports ferry's counters in the Prometheus text format
// on the opt-in [metrics] listener. It counts the session core's records
// (core.Sink) and reads a few gauges when scraped (passive ports, bans,
// password checks), so it sees what the audit log sees and nothing else.
package metrics

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are what the gauges read when scraped; nil fields are left out.
type Sources struct {
	PassiveInUse func() int
	PassiveSize  int
	Bans         func() int
	HashChecks   func() (running, waiting int)
}

// Metrics is the registry and the core.Sink that feeds it.
type Metrics struct {
	reg       *prometheus.Registry
	sessions  *prometheus.GaugeVec
	logins    *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	durations *prometheus.HistogramVec
	refusals  *prometheus.CounterVec
	quota     prometheus.Counter
}

// New returns the metrics with gauges over src.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ferry_sessions",
			Help: "Logged-in sessions now, by protocol."}, []string{"protocol"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_logins_total",
			Help: "Logins by protocol and result (ok, failed)."}, []string{"protocol", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_transfer_bytes_total",
			Help: "Bytes of finished transfers, by protocol and direction (in: uploads, out: downloads)."}, []string{"protocol", "direction"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_transfer_duration_seconds",
			Help:    "Durations of finished transfers, by protocol and direction.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10)}, []string{"protocol", "direction"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ferry_refusals_total",
			Help: "Refused connections, logins and paths, by protocol."}, []string{"protocol"}),
		quota: prometheus.NewCounter(prometheus.CounterOpts{Name: "ferry_quota_refusals_total",
			Help: "Uploads and new files refused by a user's quota."}),
	}
	m.reg.MustRegister(m.sessions, m.logins, m.bytes, m.durations, m.refusals, m.quota)
	if src.PassiveInUse != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_passive_ports_in_use", Help: "FTP passive ports held now."},
				func() float64 { return float64(src.PassiveInUse()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_passive_ports_free", Help: "FTP passive ports free now."},
				func() float64 { return float64(src.PassiveSize - src.PassiveInUse()) }))
	}
	if src.Bans != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_bans_active", Help: "Address prefixes banned now."},
			func() float64 { return float64(src.Bans()) }))
	}
	if src.HashChecks != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ferry_password_checks_queued",
			Help: "Password checks running or waiting for a slot (limits.password_hashes)."},
			func() float64 { r, w := src.HashChecks(); return float64(r + w) }))
	}
	return m
}

// Record counts one event (core.Sink).
func (m *Metrics) Record(r *core.Record) {
	proto := string(r.Service)
	switch r.Kind {
	case core.EventLoginOK:
		m.logins.WithLabelValues(proto, "ok").Inc()
		m.sessions.WithLabelValues(proto).Inc()
	case core.EventLoginFailed:
		m.logins.WithLabelValues(proto, "failed").Inc()
	case core.EventSessionEnd:
		m.sessions.WithLabelValues(proto).Dec()
	case core.EventRefused:
		m.refusals.WithLabelValues(proto).Inc()
	case core.EventUpload, core.EventDownload:
		dir := "out"
		if r.Kind == core.EventUpload {
			dir = "in"
		}
		m.bytes.WithLabelValues(proto, dir).Add(float64(r.Bytes))
		m.durations.WithLabelValues(proto, dir).Observe(r.Duration.Seconds())
	}
	if r.Reason == core.ErrQuota.Error() || strings.Contains(r.Err, core.ErrQuota.Error()) {
		m.quota.Inc()
	}
}

// Serve answers scrapes on ln (any path: /metrics by convention) until
// ln is closed.
func (m *Metrics) Serve(ln net.Listener) error {
	srv := &http.Server{
		Handler:           promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
