package main

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// chart is one written plot, for the report.
type chart struct {
	File, Title, Caption string
}

// curve is one named line of a plot, with error bars from min to max.
type curve struct {
	Name   string
	Points []point
	Dashed bool
}

// drawPlots writes the scaling curves that have data as SVG files in dir.
func drawPlots(dir string, steps map[string]*step) ([]chart, error) {
	var charts []chart
	draw := func(c chart, xLabel, yLabel string, logX bool, curves ...curve) error {
		var have []curve
		for _, cv := range curves {
			if len(cv.Points) > 0 {
				have = append(have, cv)
			}
		}
		if len(have) == 0 {
			return nil
		}
		if err := plotFile(filepath.Join(dir, c.File), c.Title, xLabel, yLabel, logX, have); err != nil {
			return err
		}
		charts = append(charts, c)
		return nil
	}

	commit := steps["commit"].series()
	one := commit["commit_ms_vs_switches"]
	var seq []point
	if len(one) > 0 {
		for _, p := range one {
			seq = append(seq, point{p.X, p.X * one[0].Med, p.X * one[0].Med, p.X * one[0].Med})
		}
	}
	err := draw(chart{"commit_vs_switches.svg", "Commit time against switches",
		"Commit of one lease whose hosts sit on S switches (emulated Cisco IOS over SSH, 20 ms per round trip), median and min-max of 5 rounds; dashed: the same switches one after another (S x one switch)."},
		"switches", "commit (ms)", true,
		curve{Name: "this project (parallel)", Points: one},
		curve{Name: "one after another (S x 1 switch)", Points: seq, Dashed: true})
	if err != nil {
		return nil, err
	}
	if err := draw(chart{"setup_vs_hosts.svg", "Cluster set-up time against hosts",
		"Create and commit until active for N hosts on 4 switches of one site (20 ms per round trip), median and min-max of 3 rounds."},
		"hosts", "set-up (ms)", true,
		curve{Name: "create + commit", Points: commit["setup_ms_vs_hosts"]}); err != nil {
		return nil, err
	}
	if err := draw(chart{"alloc_vs_occupancy.svg", "Allocation time against pool occupancy",
		"One create (VLAN allocation) in a 4093-VLAN pool filled to 0..99 %, median and min-max of 5 batches of 100."},
		"pool used (%)", "allocation (ms)", false,
		curve{Name: "create", Points: commit["alloc_ms_vs_occupancy_pct"]}); err != nil {
		return nil, err
	}
	var sw []curve
	for _, dl := range dialects {
		sw = append(sw, curve{Name: dl, Points: switchCurve(steps, dl)})
	}
	if err := draw(chart{"switch_vs_ports.svg", "Adding one VLAN to N ports of one switch",
		"Each driver and dialect against its emulator or agent fake with 20 ms per round trip, median and min-max of 5 runs (SNMP) or 3 (SSH). The per-port baseline at 64 ports is in the table."},
		"ports", "add VLAN (ms)", true, sw...); err != nil {
		return nil, err
	}
	ds := steps["dom0-series"].series()
	if err := draw(chart{"dom0_attach_vs_guests.svg", "Guest attach time against guests on the bridge",
		"One attach when k guests are already on the bridge, in the VM (QEMU TCG): vc-dom0's netlink path and the same attach with `ip` commands; median and min-max of the attaches around k."},
		"guests on the bridge", "attach (ms)", false,
		curve{Name: "vc-dom0 (netlink)", Points: ds["dom0_attach_ms_vs_guests"]},
		curve{Name: "ip commands", Points: ds["dom0_ip_attach_ms_vs_guests"], Dashed: true}); err != nil {
		return nil, err
	}
	return charts, nil
}

func plotFile(path, title, xLabel, yLabel string, logX bool, curves []curve) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = powerTicks{}
	}
	p.Add(plotter.NewGrid())
	top := 0.0
	for _, cv := range curves {
		for _, pt := range cv.Points {
			top = max(top, pt.Hi)
		}
	}
	p.Y.Max = top * (1.1 + 0.08*float64(len(curves))) // room for the legend
	for i, cv := range curves {
		xys := make(plotter.XYs, len(cv.Points))
		errs := make(plotter.YErrors, len(cv.Points))
		for k, pt := range cv.Points {
			xys[k] = plotter.XY{X: pt.X, Y: pt.Med}
			errs[k].Low, errs[k].High = pt.Med-pt.Lo, pt.Hi-pt.Med
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", cv.Name, err)
		}
		col := plotutil.Color(i)
		l.Color, s.Color = col, col
		s.Shape = plotutil.Shape(i)
		if cv.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xys, errs})
		if err != nil {
			return fmt.Errorf("plot %s: %w", cv.Name, err)
		}
		eb.Color = color.Gray{Y: 110}
		p.Add(l, s, eb)
		p.Legend.Add(cv.Name, l, s)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("save plot: %w", err)
	}
	return nil
}

// powerTicks marks 1, 2, 4, 8, ... on a logarithmic axis.
type powerTicks struct{}

func (powerTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for v := 1.0; v <= hi*1.001; v *= 2 {
		if v >= lo*0.999 {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return ts
}
