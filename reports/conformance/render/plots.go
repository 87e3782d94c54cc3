package render

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Plot is one inline SVG figure of the perf section.
type Plot struct {
	ID      string        // the figure's id, e.g. "cdf-http"
	Caption string        // what it shows
	SVG     template.HTML // the <svg> element drawn by gonum/plot (vgsvg)
}

// Plots draws the latency figures of the perf data: per kind of load a CDF
// per mode (arm) over every trial's histogram, the per-trial percentiles,
// and the estimated shifts over the baseline with their 95% intervals.
func Plots(d *runinfo.PerfData) ([]Plot, error) {
	if d == nil {
		return nil, nil
	}
	var out []Plot
	for _, kind := range kinds(d) {
		cdf, err := cdfPlot(d, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, cdf)
		pct, err := percentilePlot(d, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, pct)
		if slices.ContainsFunc(d.Shifts, func(s runinfo.Shift) bool { return s.Kind == kind }) {
			sh, err := shiftPlot(d, kind)
			if err != nil {
				return nil, err
			}
			out = append(out, sh)
		}
	}
	return out, nil
}

func kinds(d *runinfo.PerfData) []string {
	var ks []string
	for _, t := range d.Trials {
		if !slices.Contains(ks, t.Kind) {
			ks = append(ks, t.Kind)
		}
	}
	sort.Strings(ks)
	return ks
}

func arms(d *runinfo.PerfData, kind string) []string {
	var as []string
	for _, a := range d.Arms {
		if slices.ContainsFunc(d.Trials, func(t runinfo.Trial) bool { return t.Kind == kind && t.Arm == a }) {
			as = append(as, a)
		}
	}
	for _, t := range d.Trials { // arms the header does not list
		if t.Kind == kind && !slices.Contains(as, t.Arm) {
			as = append(as, t.Arm)
		}
	}
	return as
}

// cdfPlot merges the histograms of every trial of an arm and draws the
// fraction of requests at or below each bucket's end.
func cdfPlot(d *runinfo.PerfData, kind string) (Plot, error) {
	p := newPlot(fmt.Sprintf("Latency CDF per mode (%s)", kind), "latency (ms)", "fraction of requests ≤ x")
	p.Y.Min, p.Y.Max = 0, 1
	for i, arm := range arms(d, kind) {
		counts := map[float64]int64{}
		var total int64
		for _, t := range d.Trials {
			if t.Kind != kind || t.Arm != arm {
				continue
			}
			for _, b := range t.Histogram {
				counts[b.End] += b.Count
				total += b.Count
			}
		}
		if total == 0 {
			continue
		}
		ends := make([]float64, 0, len(counts))
		for e := range counts {
			ends = append(ends, e)
		}
		sort.Float64s(ends)
		pts := make(plotter.XYs, 0, len(ends))
		var cum int64
		for _, e := range ends {
			cum += counts[e]
			pts = append(pts, plotter.XY{X: e, Y: float64(cum) / float64(total)})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return Plot{}, fmt.Errorf("CDF of %s/%s: %w", kind, arm, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(arm, l)
	}
	p.Legend.Top = false // the lower right of a CDF is empty
	return svgPlot(p, "cdf-"+kind, fmt.Sprintf("Cumulative distribution of %s request latency per mode, every trial's histogram merged.", kind))
}

// percentilePlot draws each trial's percentiles by round, per arm.
func percentilePlot(d *runinfo.PerfData, kind string) (Plot, error) {
	p := newPlot(fmt.Sprintf("Per-trial percentiles (%s)", kind), "round", "latency (ms)")
	var pcts []string
	for _, t := range d.Trials {
		for k := range t.Percentiles {
			if t.Kind == kind && !slices.Contains(pcts, k) {
				pcts = append(pcts, k)
			}
		}
	}
	sort.Slice(pcts, func(i, j int) bool { return pctValue(pcts[i]) < pctValue(pcts[j]) })
	n := 0
	for i, arm := range arms(d, kind) {
		for j, pc := range pcts {
			var pts plotter.XYs
			for _, t := range d.Trials {
				if v, ok := t.Percentiles[pc]; ok && t.Kind == kind && t.Arm == arm {
					pts = append(pts, plotter.XY{X: float64(t.Round), Y: v})
				}
			}
			if len(pts) == 0 {
				continue
			}
			sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return Plot{}, fmt.Errorf("percentiles of %s/%s: %w", kind, arm, err)
			}
			l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
			l.Dashes = plotutil.Dashes(j)
			s.Shape = plotutil.Shape(j)
			p.Add(l, s)
			p.Legend.Add(arm+" "+pc, l, s)
			n++
		}
	}
	p.X.Tick.Marker = plot.TickerFunc(integerTicks)
	p.Y.Max += 0.12 * float64(n) * (p.Y.Max - p.Y.Min) / 2 // room for the legend above the lines
	return svgPlot(p, "percentiles-"+kind, fmt.Sprintf("%s percentiles of every trial, by round and mode (%d series).", kind, n))
}

// shiftPlot draws the estimated added latency of each arm over its
// baseline per percentile, with the 95% interval as error bars.
func shiftPlot(d *runinfo.PerfData, kind string) (Plot, error) {
	p := newPlot(fmt.Sprintf("Added latency over the baseline, 95%% intervals (%s)", kind), "percentile", "shift (ms)")
	var labels []string
	var shifts []runinfo.Shift
	for _, s := range d.Shifts {
		if s.Kind == kind {
			shifts = append(shifts, s)
			if !slices.Contains(labels, s.Percentile) {
				labels = append(labels, s.Percentile)
			}
		}
	}
	sort.Slice(labels, func(i, j int) bool { return pctValue(labels[i]) < pctValue(labels[j]) })
	var armNames []string
	for _, s := range shifts {
		if !slices.Contains(armNames, s.Arm+" vs "+s.Baseline) {
			armNames = append(armNames, s.Arm+" vs "+s.Baseline)
		}
	}
	for i, name := range armNames {
		var pts errorPoints
		for _, s := range shifts {
			if s.Arm+" vs "+s.Baseline != name {
				continue
			}
			x := float64(slices.Index(labels, s.Percentile)) + 0.15*float64(i) - 0.075*float64(len(armNames)-1)
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: s.Estimate})
			pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{s.Estimate - s.Low, s.High - s.Estimate})
		}
		bars, err := plotter.NewYErrorBars(pts)
		if err != nil {
			return Plot{}, fmt.Errorf("shift intervals of %s/%s: %w", kind, name, err)
		}
		bars.Color = plotutil.Color(i + 1)
		sc, err := plotter.NewScatter(pts.XYs)
		if err != nil {
			return Plot{}, err
		}
		sc.Color = plotutil.Color(i + 1)
		sc.Shape = plotutil.Shape(i)
		p.Add(bars, sc)
		p.Legend.Add(name, sc)
	}
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Color = color.Gray{Y: 160}
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(zero)
	p.Y.Min = math.Min(p.Y.Min, 0) // the zero line: no added latency
	p.Y.Max = math.Max(p.Y.Max, 0)
	p.Y.Max += 0.15 * (p.Y.Max - p.Y.Min) // room for the legend
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	ticks := make([]plot.Tick, len(labels))
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	return svgPlot(p, "shifts-"+kind, fmt.Sprintf("Estimated added %s latency per percentile with its 95%% interval (%s).", kind, d.Method))
}

// errorPoints are points with asymmetric vertical errors.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

func integerTicks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for v := float64(int(min)); v <= max; v++ {
		if v >= min {
			ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%d", int(v))})
		}
	}
	return ts
}

// pctValue orders "p50" < "p90" < "p99" < "p99.9".
func pctValue(p string) float64 {
	var v float64
	if _, err := fmt.Sscanf(strings.TrimPrefix(p, "p"), "%g", &v); err != nil {
		return 1e9
	}
	return v
}

// svgPlot renders p as an <svg> element (the XML prolog removed, so it can
// be inlined in HTML).
func svgPlot(p *plot.Plot, id, caption string) (Plot, error) {
	w, err := p.WriterTo(7*vg.Inch, 3.6*vg.Inch, "svg")
	if err != nil {
		return Plot{}, fmt.Errorf("plot %s: %w", id, err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return Plot{}, fmt.Errorf("plot %s: %w", id, err)
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return Plot{}, fmt.Errorf("plot %s: gonum/plot wrote no <svg> element", id)
	}
	// Safe as HTML: gonum/plot drew it, and vgsvg escapes every text it writes.
	return Plot{ID: id, Caption: caption, SVG: template.HTML(s[i:])}, nil
}
