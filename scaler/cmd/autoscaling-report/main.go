// Command autoscaling-report replays the public traces in shared/data/traces
// under the predictive example policy and its pure-HPA baseline, and writes
// docs/autoscaling.md with the results table and docs/img/*.png plots.
//
//	go run ./scaler/cmd/autoscaling-report -traces ../shared/data/traces -out docs
package main

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
	"github.com/trimtab/trimtab/scaler/sim"
)

//go:embed autoscaling.md.tmpl
var docTemplate string

// edt is the NASA server's local time, in which its daily cycle is drawn.
var edt = time.FixedZone("EDT", -4*3600)

// segment is a scored span [From, To) of a trace.
type segment struct {
	Label    string
	From, To int64
}

// scenario is one trace with its replay parameters.
type scenario struct {
	Name string
	File string
	// Capacities (rps per ready replica) are swept so that the trace's peak
	// needs about 28, 14, 7 and 3.5 replicas; the policy's maxReplicas is 20.
	Capacities []float64
	// PlotCapacity is the capacity drawn in the plot.
	PlotCapacity float64
	Segments     []segment
	// PlotStep aggregates plotted points (seconds).
	PlotStep int64
	// Zone the plot's clock is drawn in.
	Zone *time.Location
	// SweepZ are band widths replayed besides the default, to show what
	// the band trades (see sweepRow).
	SweepZ []float64
	// ForesightCapacities are the capacities replayed with smoothOracle's
	// forecasts as well, to show how much foresight the goal needs.
	ForesightCapacities []float64
}

// The NASA spans leave out the 3.5 days that were never logged (no rows
// between 806952720 and 807249600), the Hurricane Erin outage (zero rows
// 807303180–807438900) and the artifact last row (809928000); see the
// traces README.
var scenarios = []scenario{
	{
		Name: "NASA-HTTP 1995", File: "nasa95_rps.csv", Capacities: []float64{0.25, 0.5, 1, 2}, PlotCapacity: 0.5, PlotStep: 60, Zone: edt,
		SweepZ: []float64{0, 1, 2.5}, ForesightCapacities: []float64{0.25, 0.5},
		Segments: []segment{
			{"Jul 1 00:00 – Jul 28 13:32 EDT", 804571200, 806952780},
			{"Aug 1 00:00 – Aug 1 14:52 EDT (until the outage)", 807249600, 807303180},
			{"Aug 3 04:36 – Aug 31 23:59 EDT (after the outage)", 807438960, 809928000},
		},
	},
	{Name: "Azure LLM code 2023", File: "azure_llm_code_rps.csv", Capacities: []float64{2.5, 5, 10, 20}, PlotCapacity: 5, PlotStep: 10, Zone: time.UTC},
	{Name: "Azure LLM conversation 2023", File: "azure_llm_conv_rps.csv", Capacities: []float64{0.75, 1.5, 3, 6}, PlotCapacity: 1.5, PlotStep: 10, Zone: time.UTC},
}

func main() {
	traces := flag.String("traces", "../shared/data/traces", "directory with the trace CSVs")
	out := flag.String("out", "docs", "docs directory to write autoscaling.md and img/ into")
	policy := flag.String("policy", "docs/examples/scalingpolicy-predictive.yaml", "predictive ScalingPolicy to evaluate")
	flag.Parse()
	if err := run(*traces, *out, *policy); err != nil {
		fmt.Fprintln(os.Stderr, "autoscaling-report:", err)
		os.Exit(1)
	}
}

// row is one line of the results table.
type row struct {
	Trace, Span                      string
	Capacity                         float64
	Base, Pred                       sim.Result
	CostDelta, ViolDelta             float64
	Met                              bool
	HasViol                          bool
	BaseReplicaHours, PredReplicaHrs float64
	// LeastCostDelta is leastCost's bound for halving the baseline's
	// violations, relative to the baseline's replica-seconds (percent).
	LeastCostDelta float64
}

// docData feeds the template.
type docData struct {
	Policy                string
	Startup, Sync, Window time.Duration
	// Horizon is the evaluated policy's horizon: its
	// spec.predictive.horizonSeconds, or, unset, the start-up plus a sync.
	Horizon, DefaultHorizon time.Duration
	// Rows are per trace and capacity, summed over the scored spans;
	// Segments split the NASA rows by span.
	Rows, Segments []row
	// Sweep is the NASA trace under other band widths Z, per capacity.
	Sweep []sweepRow
	// Foresight compares the model with smoothOracle's forecasts.
	Foresight  []foresightRow
	ForesightZ []float64
	DefaultZ   float64
	Model      predict.Config
	Plots      []plotRef
	PolicyYAML string
	GoalMet    int
}

// sweepRow is one capacity replayed with several band widths.
type sweepRow struct {
	Capacity float64
	// Cells are per Z, ascending, the default's included.
	Cells []sweepCell
}

// foresightRow is one capacity replayed with one forecaster at the band
// widths foresightZ.
type foresightRow struct {
	Capacity   float64
	Forecaster string
	Cells      []sweepCell
}

// foresightZ are the band widths of the foresight table, around the goal's
// +5 % cost at the capacities it is replayed for.
var foresightZ = []float64{1, 1.25, 1.5}

// foresightSteps are the oracle's foresights (one-minute trace steps;
// negative: unlimited) in the foresight table.
var foresightSteps = []int{0, 1, 3, -1}

type sweepCell struct {
	Z float64
	row
}

type plotRef struct{ Title, Path string }

func run(tracesDir, outDir, policyPath string) error {
	data, err := os.ReadFile(policyPath)
	if err != nil {
		return err
	}
	// Metrics replay cannot drive are left out as `trimtab replay` leaves
	// them out (the default policy has none); the report quotes the policy.
	cfg, _, err := sim.ReadPolicy(data)
	if err != nil {
		return fmt.Errorf("%s: %w", policyPath, err)
	}
	opt := sim.DefaultOptions()
	model := predict.DefaultConfig(cfg.Predictive.Season)
	doc := docData{Policy: policyPath, Startup: opt.Startup, Sync: opt.Sync, Window: opt.MetricWindow, PolicyYAML: strings.TrimSpace(string(data)),
		Horizon: cmp.Or(cfg.Predictive.Horizon, opt.Startup+opt.Sync), DefaultHorizon: scaler.DefaultHorizon, DefaultZ: cfg.Predictive.Band, Model: model, ForesightZ: foresightZ}
	if err := os.MkdirAll(filepath.Join(outDir, "img"), 0o755); err != nil {
		return err
	}
	for _, sc := range scenarios {
		tr, err := readTrace(filepath.Join(tracesDir, sc.File))
		if err != nil {
			return err
		}
		segs := sc.Segments
		if segs == nil {
			segs = []segment{{"whole trace", tr.Start, tr.End()}}
		}
		day := busiestDay(tr, segs, sc.Zone)
		var series [2][]sim.Point
		for _, capacity := range sc.Capacities {
			o := opt
			o.Capacity = capacity
			var base, pred sim.Result
			for _, seg := range segs {
				var res [2]sim.Result
				for i, mode := range [2]v1alpha1.PredictiveMode{v1alpha1.PredictiveOff, cfg.Predictive.Mode} {
					rc := cfg
					rc.Predictive.Mode = mode
					o.Observe = nil
					if capacity == sc.PlotCapacity && day.From >= seg.From && day.To <= seg.To {
						o.Observe = collector(&series[i], day, sc.PlotStep)
					}
					if res[i], err = sim.Run(tr.Slice(seg.From, seg.To), rc, o); err != nil {
						return fmt.Errorf("%s %s: %w", sc.Name, seg.Label, err)
					}
				}
				if len(segs) > 1 {
					doc.Segments = append(doc.Segments, newRow(sc.Name, seg.Label, capacity, res[0], res[1]))
				}
				base, pred = add(base, res[0]), add(pred, res[1])
			}
			o.Observe = nil
			r := newRow(sc.Name, "", capacity, base, pred)
			r.LeastCostDelta = 100 * (leastCost(tr, segs, capacity, int64(opt.Sync/time.Second), cfg.MinReplicas, cfg.MaxReplicas, base.ViolationSeconds/2)/base.ReplicaSeconds - 1)
			doc.Rows = append(doc.Rows, r)
			if r.Met {
				doc.GoalMet++
			}
			sweep := &modelSweep{tr: tr, segs: segs, cfg: cfg, o: o, base: base,
				done: map[float64]sweepCell{cfg.Predictive.Band: {cfg.Predictive.Band, r}}}
			if len(sc.SweepZ) > 0 {
				sr := sweepRow{Capacity: capacity}
				for _, z := range append([]float64{cfg.Predictive.Band}, sc.SweepZ...) {
					c, err := sweep.at(z)
					if err != nil {
						return fmt.Errorf("%s: %w", sc.Name, err)
					}
					sr.Cells = append(sr.Cells, c)
				}
				slices.SortFunc(sr.Cells, func(a, b sweepCell) int { return cmp.Compare(a.Z, b.Z) })
				doc.Sweep = append(doc.Sweep, sr)
			}
			if slices.Contains(sc.ForesightCapacities, capacity) {
				rows, err := foresightRows(sweep)
				if err != nil {
					return fmt.Errorf("%s: %w", sc.Name, err)
				}
				doc.Foresight = append(doc.Foresight, rows...)
			}
		}
		name := strings.TrimSuffix(sc.File, "_rps.csv") + ".png"
		title := fmt.Sprintf("%s, %g rps per replica — %s", sc.Name, sc.PlotCapacity, dayTitle(day, sc))
		if err := drawPlot(filepath.Join(outDir, "img", name), title, series, sc); err != nil {
			return err
		}
		doc.Plots = append(doc.Plots, plotRef{Title: title, Path: "img/" + name})
	}
	return writeDoc(filepath.Join(outDir, "autoscaling.md"), doc)
}

func readTrace(path string) (sim.Trace, error) {
	fh, err := os.Open(path)
	if err != nil {
		return sim.Trace{}, err
	}
	defer fh.Close()
	tr, err := sim.ParseTrace(fh)
	if err != nil {
		return sim.Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// replay runs cfg over every segment and sums the results; forecaster,
// when set, builds each segment's forecaster in place of the model.
func replay(tr sim.Trace, segs []segment, cfg scaler.Config, o sim.Options, forecaster func(sim.Trace) sim.Forecaster) (sim.Result, error) {
	var sum sim.Result
	for _, seg := range segs {
		slice := tr.Slice(seg.From, seg.To)
		if forecaster != nil {
			o.Forecaster = forecaster(slice)
		}
		r, err := sim.Run(slice, cfg, o)
		if err != nil {
			return sim.Result{}, fmt.Errorf("%s: %w", seg.Label, err)
		}
		sum = add(sum, r)
	}
	return sum, nil
}

// modelSweep replays the policy with the model at band widths Z, each
// once: the band table and the foresight table share Z = 1.
type modelSweep struct {
	tr   sim.Trace
	segs []segment
	cfg  scaler.Config
	o    sim.Options
	base sim.Result
	done map[float64]sweepCell
}

// at replays the policy with its band (spec.predictive.bandStdDevs) set
// to z.
func (m *modelSweep) at(z float64) (sweepCell, error) {
	if c, ok := m.done[z]; ok {
		return c, nil
	}
	r, err := replay(m.tr, m.segs, withBand(m.cfg, z), m.o, nil)
	if err != nil {
		return sweepCell{}, fmt.Errorf("band width Z = %g: %w", z, err)
	}
	c := sweepCell{z, newRow("", "", m.o.Capacity, m.base, r)}
	m.done[z] = c
	return c, nil
}

// foresightRows replays the policy at the band widths foresightZ, first
// with the model, then with smoothOracle at each of foresightSteps.
func foresightRows(sweep *modelSweep) ([]foresightRow, error) {
	tr, segs, cfg, o, base := sweep.tr, sweep.segs, sweep.cfg, sweep.o, sweep.base
	rows := []foresightRow{{Capacity: o.Capacity, Forecaster: "Holt-Winters model"}}
	for _, z := range foresightZ {
		c, err := sweep.at(z)
		if err != nil {
			return nil, err
		}
		rows[0].Cells = append(rows[0].Cells, c)
	}
	for _, ahead := range foresightSteps {
		fr := foresightRow{Capacity: o.Capacity, Forecaster: foresightLabel(ahead)}
		for _, z := range foresightZ {
			r, err := replay(tr, segs, withBand(cfg, z), o, func(slice sim.Trace) sim.Forecaster {
				return newSmoothOracle(slice, o.Capacity, oracleHalfWindow, ahead)
			})
			if err != nil {
				return nil, fmt.Errorf("oracle %s, Z = %g: %w", fr.Forecaster, z, err)
			}
			fr.Cells = append(fr.Cells, sweepCell{z, newRow("", "", o.Capacity, base, r)})
		}
		rows = append(rows, fr)
	}
	return rows, nil
}

func withBand(cfg scaler.Config, z float64) scaler.Config {
	cfg.Predictive.Band = z
	return cfg
}

func foresightLabel(ahead int) string {
	switch {
	case ahead < 0:
		return "oracle, centred mean (unlimited foresight)"
	case ahead == 0:
		return "trailing mean up to the current minute (no foresight)"
	case ahead == 1:
		return "oracle, 1 minute of foresight"
	}
	return fmt.Sprintf("oracle, %d minutes of foresight", ahead)
}

func newRow(trace, span string, capacity float64, base, pred sim.Result) row {
	r := row{Trace: trace, Span: span, Capacity: capacity, Base: base, Pred: pred,
		BaseReplicaHours: base.ReplicaSeconds / 3600, PredReplicaHrs: pred.ReplicaSeconds / 3600}
	r.CostDelta = 100 * (pred.ReplicaSeconds/base.ReplicaSeconds - 1)
	if base.ViolationSeconds > 0 {
		r.HasViol = true
		r.ViolDelta = 100 * (pred.ViolationSeconds/base.ViolationSeconds - 1)
	}
	// Compared without division so that exactly +5 % and −50 % count.
	r.Met = r.HasViol && 2*pred.ViolationSeconds <= base.ViolationSeconds && 100*pred.ReplicaSeconds <= 105*base.ReplicaSeconds
	return r
}

func add(a, b sim.Result) sim.Result {
	return sim.Result{
		ReplicaSeconds:   a.ReplicaSeconds + b.ReplicaSeconds,
		ViolationSeconds: a.ViolationSeconds + b.ViolationSeconds,
		ScaleEvents:      a.ScaleEvents + b.ScaleEvents,
		PeakReplicas:     max(a.PeakReplicas, b.PeakReplicas),
		ForecastSyncs:    a.ForecastSyncs + b.ForecastSyncs,
	}
}

// busiestDay is the local calendar day with the most requests that lies
// wholly within one scored segment; for traces shorter than a day, the
// whole first segment.
func busiestDay(tr sim.Trace, segs []segment, zone *time.Location) segment {
	if segs[0].To-segs[0].From <= 86400 && len(segs) == 1 {
		return segs[0]
	}
	var best segment
	bestSum := -1.0
	for _, seg := range segs {
		start := time.Unix(seg.From, 0).In(zone)
		d := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, zone)
		for ; d.Unix()+86400 <= seg.To; d = d.AddDate(0, 0, 1) {
			if d.Unix() < seg.From {
				continue
			}
			var sum float64
			for s := d.Unix(); s < d.Unix()+86400; s += tr.Step {
				sum += tr.At(s)
			}
			if sum > bestSum {
				best, bestSum = segment{From: d.Unix(), To: d.Unix() + 86400}, sum
			}
		}
	}
	return best
}

func dayTitle(day segment, sc scenario) string {
	if day.To-day.From >= 86400 {
		return "busiest day, " + time.Unix(day.From, 0).In(sc.Zone).Format("Mon 2 Jan 2006 (MST)")
	}
	return "whole trace, " + time.Unix(day.From, 0).In(sc.Zone).Format("2 Jan 2006 15:04 MST")
}

// collector averages the simulated seconds inside day into step-long points.
func collector(dst *[]sim.Point, day segment, step int64) func(sim.Point) {
	var acc struct {
		rps, ready float64
		n          int
		start      int64
	}
	return func(p sim.Point) {
		if p.T < day.From || p.T >= day.To {
			return
		}
		b := p.T - (p.T-day.From)%step
		if acc.n > 0 && b != acc.start {
			*dst = append(*dst, sim.Point{T: acc.start, RPS: acc.rps / float64(acc.n), Ready: int32(acc.ready/float64(acc.n) + 0.5)})
			acc.rps, acc.ready, acc.n = 0, 0, 0
		}
		acc.start = b
		acc.rps += p.RPS
		acc.ready += float64(p.Ready)
		acc.n++
	}
}

func drawPlot(path, title string, series [2][]sim.Point, sc scenario) error {
	if len(series[0]) == 0 || len(series[1]) == 0 {
		return errors.New("no points to plot for " + sc.Name)
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (" + sc.Zone.String() + ")"
	p.Y.Label.Text = "requests per second"
	zone := sc.Zone
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04", Time: func(t float64) time.Time { return time.Unix(int64(t), 0).In(zone) }}
	p.Legend.Top = true
	p.Legend.Left = true
	load := make(plotter.XYs, len(series[0]))
	for i, pt := range series[0] {
		load[i] = plotter.XY{X: float64(pt.T), Y: pt.RPS}
	}
	lines := []struct {
		name string
		xys  plotter.XYs
		c    color.RGBA
		w    vg.Length
	}{
		{"offered load", load, color.RGBA{R: 120, G: 120, B: 120, A: 255}, 1},
		{"ready capacity, HPA baseline", capacity(series[0], sc.PlotCapacity), color.RGBA{R: 214, G: 39, B: 40, A: 255}, 1.5},
		{"ready capacity, predictive", capacity(series[1], sc.PlotCapacity), color.RGBA{G: 114, B: 178, A: 255}, 1.5},
	}
	for _, l := range lines {
		ln, err := plotter.NewLine(l.xys)
		if err != nil {
			return err
		}
		ln.Color, ln.Width = l.c, vg.Points(float64(l.w))
		p.Add(ln)
		p.Legend.Add(l.name, ln)
	}
	p.Add(plotter.NewGrid())
	return p.Save(11*vg.Inch, 4.5*vg.Inch, path)
}

func capacity(pts []sim.Point, perReplica float64) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	for i, pt := range pts {
		out[i] = plotter.XY{X: float64(pt.T), Y: float64(pt.Ready) * perReplica}
	}
	return out
}

func writeDoc(path string, d docData) error {
	t, err := template.New("doc").Funcs(template.FuncMap{
		"f0":  func(v float64) string { return fmt.Sprintf("%.0f", v) },
		"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"pct": func(v float64) string { return fmt.Sprintf("%+.1f %%", v) },
	}).Parse(docTemplate)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
