package ui

import (
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/virtcloud/virtcloud/internal/api"
)

// States are the map's colours, in a lease's order of life.
var States = []string{Free, string(api.StateHeld), string(api.StateCommitting), string(api.StateActive), string(api.StateReleasing), Quarantined}

// The page's script draws cell titles and times as cellTitle and stamp do.
var funcs = template.FuncMap{
	"states":     func() []string { return States },
	"stamp":      stamp,
	"join":       func(s []string) string { return strings.Join(s, " ") },
	"cellTitle":  cellTitle,
	"leasesAt":   leasesAt,
	"switchesAt": switchesAt,
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

func cellTitle(v VLAN) string {
	s := fmt.Sprintf("VLAN %d: %s", v.VID, v.State)
	if v.Job != "" {
		s += ", job " + v.Job
		if v.Owner != "" {
			s += " (" + v.Owner + ")"
		}
	}
	return s
}

func counts(vs []VLAN) string {
	n := map[string]int{}
	for _, v := range vs {
		n[v.State]++
	}
	var parts []string
	for _, st := range States {
		parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
	}
	return fmt.Sprintf("%d VLANs: ", len(vs)) + strings.Join(parts, ", ")
}

func leasesAt(ls []api.Lease, site string) []api.Lease {
	var out []api.Lease
	for _, l := range ls {
		if slices.Contains(l.Sites, site) {
			out = append(out, l)
		}
	}
	return out
}

func switchesAt(sws []Switch, site string) []Switch {
	var out []Switch
	for _, s := range sws {
		if s.Site == site {
			out = append(out, s)
		}
	}
	return out
}

func reach(s Switch) string {
	switch {
	case !s.Audited:
		return "not audited yet"
	case s.Reachable:
		return "yes"
	}
	return "no"
}

func finding(s Switch) string {
	if !s.Audited {
		return "-"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Drift)) {
		if s.Drift[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", s.Drift[k], k))
		}
	}
	if len(parts) == 0 {
		if !s.Reachable {
			return "could not be read"
		}
		return "clean"
	}
	return "drift: " + strings.Join(parts, ", ")
}
