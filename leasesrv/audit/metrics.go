package audit

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/virtcloud/virtcloud/internal/api"
	"github.com/virtcloud/virtcloud/leasesrv/store"
)

// metrics export the last pass of each switch, so an alert fires on drift
// that stays, and count the repairs.
type metrics struct {
	findings  *prometheus.GaugeVec
	reachable *prometheus.GaugeVec
	fixes     *prometheus.CounterVec
	readErrs  *prometheus.CounterVec
	lastRun   prometheus.Gauge
	shared    prometheus.Gauge
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
		readErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "virtcloud_audit_read_errors_total", Help: "Audit passes in which the switch could not be read.",
		}, []string{"switch"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "virtcloud_audit_last_run_timestamp_seconds", Help: "When the last audit pass ended.",
		}),
		shared: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "virtcloud_isolation_findings", Help: "L2 networks that broke the isolation rule at the last isolation check (shared or split).",
		}),
	}
}

// Collectors are the reconciler's metrics, and what the store holds (the
// other side of every audit), for the server's registry.
func (r *Reconciler) Collectors() []prometheus.Collector {
	m := r.metrics
	sites := slices.Sorted(maps.Keys(r.cfg.Sites))
	return []prometheus.Collector{m.findings, m.reachable, m.fixes, m.readErrs, m.lastRun, m.shared, &storeCollector{st: r.st, sites: sites}}
}

func (m *metrics) observe(s api.SwitchReport) {
	if !s.Reachable {
		m.reachable.WithLabelValues(s.Switch).Set(0)
		m.readErrs.WithLabelValues(s.Switch).Inc()
		return // what was known of it stays until it answers again
	}
	m.reachable.WithLabelValues(s.Switch).Set(1)
	left := map[string]float64{api.DriftOrphan: 0, api.DriftMissing: 0, api.DriftExtra: 0}
	for _, f := range s.Findings {
		if !f.Fixed {
			left[f.Kind]++
		}
	}
	for kind, n := range left {
		m.findings.WithLabelValues(s.Switch, kind).Set(n)
	}
}

var (
	storeUpDesc = prometheus.NewDesc("virtcloud_store_up",
		"1 when the lease store answered at this scrape, else 0.", nil, nil)
	poolDesc = prometheus.NewDesc("virtcloud_pool_vlans",
		"VLANs of a site's pool by state (size, free, held, active, quarantined).", []string{"site", "state"}, nil)
	leasesDesc = prometheus.NewDesc("virtcloud_leases",
		"Leases the store holds, by state and, for ended leases, why they ended.", []string{"state", "reason"}, nil)
	oldestDesc = prometheus.NewDesc("virtcloud_lease_state_age_seconds",
		"Seconds since the least recently updated lease in a live state last changed; 0 when none is in it.", []string{"state"}, nil)
	failedStartsDesc = prometheus.NewDesc("virtcloud_lease_failed_starts",
		"Failed job starts, summed over the leases the store holds.", nil, nil)
)

// storeCollector reads the store at each scrape, so the numbers are the
// store's, shared by every lease server, and a store that does not answer
// shows as virtcloud_store_up 0.
type storeCollector struct {
	st    *store.Store
	sites []string
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{storeUpDesc, poolDesc, leasesDesc, oldestDesc, failedStartsDesc} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now, err := c.st.Client().Time(ctx).Result()
	var pools []api.Pool
	var leases []api.Lease
	if err == nil {
		pools, err = c.st.Pools(ctx, c.sites)
	}
	if err == nil {
		leases, err = c.st.List(ctx)
	}
	if err != nil {
		ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(storeUpDesc, prometheus.GaugeValue, 1)
	for _, p := range pools {
		for state, n := range map[string]int{"size": p.Size, "free": p.Free, "held": p.Held, "active": p.Active, "quarantined": p.Quarantined} {
			ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(n), p.Site, state)
		}
	}
	if clock := c.st.Policy().Now; clock != nil {
		now = clock() // an injected clock writes the leases' times
	}
	type key struct {
		state  api.State
		reason string
	}
	count := map[key]int{}
	oldest := map[api.State]time.Time{}
	failed := 0
	live := []api.State{api.StateHeld, api.StateCommitting, api.StateActive, api.StateReleasing}
	for _, s := range live {
		count[key{s, ""}] = 0
	}
	for _, l := range leases {
		reason, _, _ := strings.Cut(l.Reason, ":") // the word, not the device's message
		count[key{l.State, reason}]++
		failed += l.FailedStarts
		if l.State.Live() && (oldest[l.State].IsZero() || l.UpdatedAt.Before(oldest[l.State])) {
			oldest[l.State] = l.UpdatedAt
		}
	}
	for k, n := range count {
		ch <- prometheus.MustNewConstMetric(leasesDesc, prometheus.GaugeValue, float64(n), string(k.state), k.reason)
	}
	for _, s := range live {
		age := 0.0
		if t := oldest[s]; !t.IsZero() {
			age = max(now.Sub(t).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, string(s))
	}
	ch <- prometheus.MustNewConstMetric(failedStartsDesc, prometheus.GaugeValue, float64(failed))
}

func (m *metrics) isolation(findings int) { m.shared.Set(float64(findings)) }
