package perf

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// gridMs is the cell of the grid AppliedShift convolves on: 1 µs, the
// applied-delay histograms' bucket and a tenth of the latency histograms'.
const gridMs = 0.001

// AppliedShift is the true shift, at percentile p, of an arm whose only
// difference from baseline is a delay the server adds to each reply and
// measures (runinfo.Trial.Applied): the shift those applied delays cause
// by themselves. A nominal delay is not the truth beyond the median: a
// kernel sleep that wakes late on a busy node gives the applied delays a
// tail, and the tail moves p99 more than p50.
//
// Per round, the baseline trial's latency distribution is convolved with
// the arm's trial's applied delays (a reply's latency is its baseline
// latency plus its delay, the two independent), and the shift is that
// distribution's p minus the baseline's p; the rounds' shifts are
// averaged, as Analyze averages the measured ones. Both are read on a 1 µs
// grid, each latency bucket spread evenly over its cells and each applied
// bucket at its middle, with the interpolation Percentile uses. Rounds
// without both trials are skipped; an error when none is left, or when a
// measured arm trial carries no applied delays.
func AppliedShift(data runinfo.PerfData, baseline, arm, kind, percentile string) (float64, error) {
	p, err := ParsePercentile(percentile)
	if err != nil {
		return 0, err
	}
	base, trials := map[int]runinfo.Trial{}, map[int]runinfo.Trial{}
	for _, t := range data.Trials {
		switch {
		case t.Kind != kind:
		case t.Arm == baseline:
			base[t.Round] = t
		case t.Arm == arm:
			trials[t.Round] = t
		}
	}
	var sum float64
	n := 0
	for r, t := range trials {
		b, ok := base[r]
		if !ok {
			continue
		}
		if len(t.Applied) == 0 {
			return 0, fmt.Errorf("%s trial of %s, round %d: no applied delays recorded", kind, arm, r)
		}
		bg, err := spread(b.Histogram)
		if err != nil {
			return 0, fmt.Errorf("%s trial of %s, round %d: %w", kind, baseline, r, err)
		}
		sh, err := convolvedShift(bg, t.Applied, p)
		if err != nil {
			return 0, fmt.Errorf("%s trial of %s, round %d: %w", kind, arm, r, err)
		}
		sum += sh
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no round has both a %s trial of %s and one of %s", kind, baseline, arm)
	}
	return sum / float64(n), nil
}

// grid is a distribution on 1 µs cells: cell i holds weight w[i] spread
// evenly over [origin+i, origin+i+1) µs.
type grid struct {
	origin int
	w      []float64
}

// cell is the grid cell of a value in ms.
func cell(ms float64) int { return int(math.Round(ms / gridMs)) }

// spread puts a latency histogram on the grid.
func spread(h []runinfo.Bucket) (grid, error) {
	if len(h) == 0 {
		return grid{}, fmt.Errorf("empty histogram")
	}
	g := grid{origin: cell(h[0].Start)}
	g.w = make([]float64, cell(h[len(h)-1].End)-g.origin)
	for _, b := range h {
		lo, hi := cell(b.Start), cell(b.End)
		if hi <= lo || lo < g.origin || hi-g.origin > len(g.w) {
			return grid{}, fmt.Errorf("histogram bucket [%g, %g) ms is out of order or narrower than 1 µs", b.Start, b.End)
		}
		per := float64(b.Count) / float64(hi-lo)
		for i := lo; i < hi; i++ {
			g.w[i-g.origin] += per
		}
	}
	return g, nil
}

// convolvedShift is the p-th percentile of the baseline lengthened by the
// applied delays, minus the baseline's.
func convolvedShift(base grid, applied []runinfo.Bucket, p float64) (float64, error) {
	var total float64
	lo, hi := math.MaxInt, math.MinInt
	for _, a := range applied {
		if a.Count < 0 || a.End <= a.Start {
			return 0, fmt.Errorf("applied-delay bucket [%g, %g) with %d values is malformed", a.Start, a.End, a.Count)
		}
		total += float64(a.Count)
		lo, hi = min(lo, cell(a.Start)), max(hi, cell(a.Start))
	}
	if total == 0 {
		return 0, fmt.Errorf("no applied delays recorded")
	}
	// Each applied bucket is a point at its middle: the cell of its
	// start, and half its width added to every value at the end.
	half := (applied[0].End - applied[0].Start) / 2
	conv := grid{origin: base.origin + lo, w: make([]float64, len(base.w)+hi-lo)}
	for _, a := range applied {
		if a.Count == 0 {
			continue
		}
		wa, off := float64(a.Count)/total, cell(a.Start)-lo
		for i, wb := range base.w {
			if wb != 0 {
				conv.w[i+off] += wb * wa
			}
		}
	}
	return conv.percentile(p) + half - base.percentile(p), nil
}

// percentile reads the p-th percentile (ms) as Percentile does a uniform
// histogram: the cell holding the value of rank p × total / 100,
// interpolated linearly by rank within it.
func (g grid) percentile(p float64) float64 {
	var total float64
	for _, w := range g.w {
		total += w
	}
	rank, before := p/100*total, 0.0
	for i, w := range g.w {
		if w > 0 && before+w >= rank {
			return (float64(g.origin+i) + (rank-before)/w) * gridMs
		}
		before += w
	}
	return float64(g.origin+len(g.w)) * gridMs
}

// AppliedPercentiles are percentiles (ms) of the delays applied to all of
// arm's measured trials of kind, and how many there were; n is 0 when no
// trial carries any.
func AppliedPercentiles(data runinfo.PerfData, arm, kind string, percentiles []string) (pcts map[string]float64, n int64, err error) {
	var all []runinfo.Bucket
	for _, t := range data.Trials {
		if t.Arm == arm && t.Kind == kind {
			all = append(all, t.Applied...)
		}
	}
	if len(all) == 0 {
		return nil, 0, nil
	}
	// The trials' 1 µs buckets in order, so spread sees them from the
	// lowest: overlapping buckets of different trials add up.
	slices.SortFunc(all, func(a, b runinfo.Bucket) int { return cmp.Compare(a.Start, b.Start) })
	g, err := spread(all)
	if err != nil {
		return nil, 0, fmt.Errorf("applied delays of %s: %w", arm, err)
	}
	for _, b := range all {
		n += b.Count
	}
	pcts = map[string]float64{}
	for _, name := range percentiles {
		p, err := ParsePercentile(name)
		if err != nil {
			return nil, 0, err
		}
		pcts[name] = g.percentile(p)
	}
	return pcts, n, nil
}
