// Package monitoring holds no code: its test checks that the alert rules and
// the Grafana dashboard beside it ask only for metrics the lease server
// really exports, so renaming a metric fails here, not in production.
package monitoring

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/virtcloud/virtcloud/leasesrv/audit"
	"github.com/virtcloud/virtcloud/leasesrv/audit/audittest"
	"github.com/virtcloud/virtcloud/leasesrv/leasetest"
	"github.com/virtcloud/virtcloud/switchdrv"
)

var metricRE = regexp.MustCompile(`\bvirtcloud_[a-z0-9_]+`)

// TestQueriesUseExportedMetrics runs a lease server as leasesrv serve
// assembles it (real Redis, a real SNMP agent and two SSH switches, the
// reconciler's collectors registered), drives it until every metric has a
// sample (a commit, a failed commit, an audit pass with a switch down),
// scrapes /metrics and looks up every virtcloud_ name the rules, their unit
// tests and the dashboard's queries use.
func TestQueriesUseExportedMetrics(t *testing.T) {
	f := audittest.Start(t)
	f.Srv.Activate("4711.pbs", "skirit82-1", "skurut9-1")
	f.Srv.Create("4712.pbs", "konos23-1")
	ctx := context.Background()
	f.Apply(t, "brno-sw1", switchdrv.Change{VLAN: 198, Name: "stray", Add: []string{"Ethernet5"}})
	f.Plzen.Stop()
	rep, err := f.Rec.Run(ctx, audit.Options{Fix: true})
	if err != nil || rep.Counts["fixed"] != 1 || rep.Unreachable != 1 {
		t.Fatalf("audit: %+v, %v; want the orphan fixed and plzen-sw1 unreachable", rep, err)
	}
	if _, err := f.Srv.Client(leasetest.SchedulerToken).Commit(ctx, "4712.pbs", f.Srv.Get("4712.pbs").Token); err == nil {
		t.Fatal("a commit on a stopped switch succeeded")
	}

	families := scrape(t, f.URL)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"virtcloud_store_up", nil, 1},
		{"virtcloud_pool_vlans", map[string]string{"site": "brno", "state": "size"}, 100},
		{"virtcloud_pool_vlans", map[string]string{"site": "brno", "state": "active"}, 1},
		{"virtcloud_leases", map[string]string{"state": "active", "reason": ""}, 1},
		{"virtcloud_leases", map[string]string{"state": "failed", "reason": "network_fault"}, 1},
		{"virtcloud_leases", map[string]string{"state": "committing", "reason": ""}, 0},
		{"virtcloud_lease_state_age_seconds", map[string]string{"state": "committing"}, 0},
		{"virtcloud_audit_switch_reachable", map[string]string{"switch": "plzen-sw1"}, 0},
		{"virtcloud_audit_read_errors_total", map[string]string{"switch": "plzen-sw1"}, 1},
		{"virtcloud_audit_fixes_total", map[string]string{"switch": "brno-sw1", "kind": "orphan"}, 1},
	} {
		if got, ok := value(families[c.name], c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found: %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	f.Srv.Redis.Stop()
	if got, _ := value(scrape(t, f.URL)["virtcloud_store_up"], nil); got != 0 {
		t.Errorf("virtcloud_store_up = %v with Redis stopped, want 0", got)
	}

	exported := map[string]bool{}
	for name, mf := range families {
		exported[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[name+s] = true
			}
		}
	}

	used := map[string][]string{} // name -> files
	for _, file := range []string{"virtcloud-alerts.yml", "virtcloud-alerts.test.yml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricRE.FindAllString(string(b), -1) {
			used[name] = append(used[name], file)
		}
	}
	for _, expr := range dashboardExprs(t, "virtcloud-dashboard.json") {
		for _, name := range metricRE.FindAllString(expr, -1) {
			used[name] = append(used[name], "virtcloud-dashboard.json")
		}
	}
	if len(used) < 5 {
		t.Fatalf("only %d metric names found in the rules and the dashboard", len(used))
	}
	for name, files := range used {
		if !exported[name] {
			slices.Sort(files)
			t.Errorf("%s (used in %s) is not among the metrics leasesrv exports", name, strings.Join(slices.Compact(files), ", "))
		}
	}
	t.Logf("%d metric names checked against %d exported families", len(used), len(families))
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// value is the sample of a gauge or counter whose labels include these.
func value(mf *dto.MetricFamily, labels map[string]string) (float64, bool) {
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && have[k] == v
		}
		if match {
			if m.Gauge != nil {
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// dashboardExprs are the PromQL queries of a Grafana dashboard: panel
// targets and template variables.
func dashboardExprs(t *testing.T, file string) []string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					out = append(out, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(d)
	return out
}
