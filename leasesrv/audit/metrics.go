package audit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/virtcloud/virtcloud/leasesrv/audit/auditapi"
)

// metrics export the last pass of each switch, so an alert fires on drift
// that stays, and count the repairs.
type metrics struct {
	findings  *prometheus.GaugeVec
	reachable *prometheus.GaugeVec
	fixes     *prometheus.CounterVec
	lastRun   prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "virtcloud_audit_findings", Help: "Drift left on a switch after the last audit pass, by kind (orphan, missing, extra).",
		}, []string{"switch", "kind"}),
		reachable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "virtcloud_audit_switch_reachable", Help: "1 when the switch answered the last audit pass, else 0.",
		}, []string{"switch"}),
		fixes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "virtcloud_audit_fixes_total", Help: "Drift repaired by the reconciler, by switch and kind.",
		}, []string{"switch", "kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "virtcloud_audit_last_run_timestamp_seconds", Help: "When the last audit pass ended.",
		}),
	}
}

// Collectors are the reconciler's metrics, for the server's registry.
func (r *Reconciler) Collectors() []prometheus.Collector {
	m := r.metrics
	return []prometheus.Collector{m.findings, m.reachable, m.fixes, m.lastRun}
}

func (m *metrics) observe(s auditapi.SwitchReport) {
	if !s.Reachable {
		m.reachable.WithLabelValues(s.Switch).Set(0)
		return // what was known of it stays until it answers again
	}
	m.reachable.WithLabelValues(s.Switch).Set(1)
	left := map[string]float64{auditapi.Orphan: 0, auditapi.Missing: 0, auditapi.Extra: 0}
	for _, f := range s.Findings {
		if !f.Fixed {
			left[f.Kind]++
		}
	}
	for kind, n := range left {
		m.findings.WithLabelValues(s.Switch, kind).Set(n)
	}
}
