package leasesrv

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// metrics are the server's own Prometheus collectors, on a registry of their
// own so that two servers in one test process do not collide.
type metrics struct {
	reg      *prometheus.Registry
	ops      *prometheus.CounterVec
	reaper   *prometheus.CounterVec
	requests *prometheus.HistogramVec
	lost     prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "virtcloud_lease_operations_total", Help: "Lease operations by operation and result.",
		}, []string{"op", "result"}),
		reaper: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "virtcloud_reaper_takeovers_total", Help: "Leases the reaper finished, by the state it found them in.",
		}, []string{"state"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "virtcloud_http_request_duration_seconds", Help: "API requests by route and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}, []string{"route", "code"}),
		lost: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "virtcloud_store_lost", Help: "1 while the lease store is known to have lost or rolled back its data (grants refused until `vcctl store recover`).",
		}),
	}
	m.reg.MustRegister(m.ops, m.reaper, m.requests, m.lost, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) op(op string, err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, store.ErrExhausted):
		result = "pool_exhausted"
	case errors.Is(err, store.ErrConflict):
		result = "conflict"
	case errors.Is(err, store.ErrStale):
		result = "stale_token"
	case errors.Is(err, store.ErrNotFound):
		result = "not_found"
	default:
		result = "error"
	}
	m.ops.WithLabelValues(op, result).Inc()
}

func (m *metrics) setStoreLost(lost bool) {
	v := 0.0
	if lost {
		v = 1
	}
	m.lost.Set(v)
}

func (m *metrics) reaped(state api.State) { m.reaper.WithLabelValues(string(state)).Inc() }

// Register adds collectors of other parts (the reconciler).
func (s *Service) Register(c prometheus.Collector) { s.metrics.reg.MustRegister(c) }

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
