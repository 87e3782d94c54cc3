package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/perf"
	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/perfrig"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/scenario"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/stats"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// calibration is one arm of the calibration: a delay the probe server
// injects in every reply.
type calibration struct {
	arm   string
	delay time.Duration
}

// calibrations are the "modes" of the calibration: none twice (the A/A
// pair) and known shifts.
var calibrations = []calibration{
	{perf.ArmNone, 0}, {perf.ArmNoneAA, 0},
	{"+0.1 ms", 100 * time.Microsecond}, {"+0.2 ms", 200 * time.Microsecond},
	{"+0.5 ms", 500 * time.Microsecond}, {"+1 ms", time.Millisecond},
}

func benchLatencyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench-latency",
		Short: "Calibrate the latency instrument on a real cluster: known injected delays must be recovered",
		Long: `bench-latency runs the perf specs' whole procedure (interleaved rounds, a
discarded warm-up per arm, fortio at the budgets file's load preset, uniform 10 µs
histograms, paired Student-t intervals) on real pods with no mesh, where the
"modes" differ only by a delay the probe server injects precisely and measures
itself: 0 twice (the A/A pair, the noise floor), 0.1, 0.2, 0.5 and 1 ms. It prints
the estimated shift at p50/p90/p99 with its 95% interval per row and judges the
instrument: every interval must contain its true shift, the A/A interval must
contain 0, and shifts of 0.2 ms and more must be told from 0 at p50. It exits 1
when the instrument fails, and removes its namespace on success, failure and
Ctrl-C. It uses the cluster of the settings (make bench-latency builds the
offline one).`,
		Args: cobra.NoArgs,
		RunE: configured(benchLatency),
	}
}

func benchLatency(ctx context.Context, cfg *config.Config, _ []string) error {
	start := time.Now()
	sel, err := budget.Select(cfg.LatencyBudgets, cfg.LatencyProfile, cfg.LoadPreset)
	if err != nil {
		return err
	}
	cfg.MeshMode = config.MeshPreinstalled // a calibration installs nothing
	wait.SetDefault(wait.Waiter{Out: os.Stderr, Every: cfg.ProgressEvery})
	sh, err := setup.Provision(ctx, cfg, os.Stderr)
	if err != nil {
		return err
	}
	env, err := setup.Attach(cfg, sh)
	if err != nil {
		return err
	}
	s, err := scenario.New(ctx, env, "bench", nil)
	if err != nil {
		return err
	}
	defer func() {
		say("removing namespace " + s.Namespace)
		_ = s.Cleanup(context.WithoutCancel(ctx))
	}()
	nodes, err := env.Kube.WorkerNodes(ctx)
	if err != nil {
		return err
	}
	if len(nodes) < 2 {
		return fmt.Errorf("client and server on different nodes needs two schedulable nodes, found %v", nodes)
	}
	if err := s.Deploy(ctx, fixtures.Workload{Name: "server", Service: "server", NodeName: nodes[0]},
		fixtures.Workload{Name: "client", NodeName: nodes[1]}); err != nil {
		return err
	}
	client, err := s.Client(ctx, "client")
	if err != nil {
		return err
	}
	// The Service answers once kube-proxy has programmed it, which can lag
	// the pods' readiness on a busy node: the procedure starts after a
	// request went through.
	if _, err := client.Until(ctx, traffic.Request{URL: s.HTTP("server", "/ready")}, traffic.OK(), cfg.ReadyTimeout); err != nil {
		return fmt.Errorf("the server never answered through its Service: %w", err)
	}
	delays := map[string]time.Duration{}
	var arms []perf.Arm
	for _, c := range calibrations {
		delays[c.arm] = c.delay
		arms = append(arms, perf.Arm{Name: c.arm, Enter: func(context.Context) error { return nil }})
	}
	rig := perfrig.Rig{Client: client, HTTP: s.HTTP("server", "/bench"), Load: sel.Load,
		Query: func(arm string) url.Values { return url.Values{wire.DelayQuery: {delays[arm].String()}} }}
	say(fmt.Sprintf("calibration: %d arms × %d rounds of %gs trials after %gs warm-ups at %g qps over %d connections (%s load)",
		len(arms), sel.Load.Rounds, sel.Load.TrialSeconds, sel.Load.WarmupSeconds, sel.Load.QPS, sel.Load.Connections, sel.LoadName))
	procStart := time.Now()
	server, err := s.Pod(ctx, "server")
	if err != nil {
		return err
	}
	read := func(ctx context.Context) (map[string]wire.DelayStats, error) {
		return serverDelays(ctx, s, server.Name)
	}
	trial := perfrig.WithAppliedDelays(rig.Trial, read, func(arm string) string { return delays[arm].String() })
	data, err := perf.Run(ctx, perf.Procedure{Arms: arms, Rounds: sel.Load.Rounds, Trial: trial, Load: sel.Load.Shape(sel.LoadName)})
	if err != nil {
		return err
	}
	procTime := time.Since(procStart)
	a, err := perf.Analyze(data, perf.ArmNone, perf.ArmNoneAA, perf.DefaultPercentiles)
	if err != nil {
		return err
	}
	data.Shifts = a.Shifts
	dir := filepath.Join(setup.ReportDir(cfg), "bench")
	if err := runinfo.WritePerfData(filepath.Join(dir, "bench-latency.json"), data); err != nil {
		return err
	}
	table, cal, ok := calibrationTable(data, a, sel.Load.ResolutionMs)
	cal.When = time.Now().UTC()
	if err := perf.WriteCalibration(filepath.Join(dir, "calibration.json"), cal); err != nil {
		return err
	}
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(dir, "bench-latency.md"), []byte(table), 0o644); err != nil {
		return err
	}
	say(fmt.Sprintf("one procedure took %s (%s in all, set-up included); data in %s; LATENCY_CALIBRATION=%s makes the perf specs judge only the calibrated percentiles",
		procTime.Round(time.Second), time.Since(start).Round(time.Second), dir, filepath.Join(dir, "calibration.json")))
	if !ok {
		return exitError{code: 1, err: fmt.Errorf("the latency instrument did not recover the injected shifts (see the rows marked MISS)")}
	}
	return nil
}

// serverDelays reads the delays the probe server pod applied, from its
// /stats: twice per measured trial, so the pod is looked up once before.
func serverDelays(ctx context.Context, s *scenario.Scenario, pod string) (map[string]wire.DelayStats, error) {
	b, err := s.Env.Kube.ProxyGet(ctx, s.Namespace, pod, fixtures.HTTPPort, "/stats")
	if err != nil {
		return nil, err
	}
	var st wire.EchoStats
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return st.Delays, nil
}

// calibrationPercentiles are the percentiles the calibration judges.
var calibrationPercentiles = []string{"p50", "p90", "p99"}

// calibrationTable judges the instrument: every row's interval contains its
// true shift, to within the histogram's resolution; the A/A interval
// contains 0; 0.2 ms and more is told from 0 at p50 (at 95%).
//
// The true shift is not the nominal delay: it is derived, per percentile,
// from the delays the server measured it applied to each trial's replies
// (perf.AppliedShift: the baseline's latencies lengthened by them). A
// kernel sleep that wakes late gives the applied delays a tail that moves
// p99 further than p50; the table shows the applied p50/p90/p99 (of the
// measured trials) beside the injected delay, and the derived truth in each
// cell.
//
// "Every interval contains its truth" is one claim about all of them at
// once: with 15 intervals at 95% each, a perfect instrument would fail it
// about half the time (1 − 0.95^15 = 54%). Containment is therefore judged
// on family-wise intervals (Bonferroni: each at 1 − 0.05/m for m judged
// intervals, the same paired Student-t); the table shows the 95% ones, which
// are what the suite's budgets use.
func calibrationTable(data runinfo.PerfData, a perf.Analysis, resolutionMs float64) (string, perf.Calibration, bool) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "| arm\t| injected\t| server applied p50 / p90 / p99\t| p50 shift [95% CI] (true)\t| p90 shift [95% CI] (true)\t| p99 shift [95% CI] (true)\t| verdict\t|")
	fmt.Fprintln(w, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
	ok := true
	judged := len(calibrations[1:]) * len(calibrationPercentiles)
	family := 1 - (1-stats.DefaultLevel)/float64(judged)
	missed := map[string]int{}
	for _, c := range calibrations[1:] {
		nominal := float64(c.delay) / float64(time.Millisecond)
		cells := []string{}
		var verdicts []string
		for _, p := range calibrationPercentiles {
			sh, found := a.Shift(c.arm, perf.KindHTTP, p)
			if !found {
				cells = append(cells, "—")
				verdicts, ok = append(verdicts, p+" not measured"), false
				missed[p]++
				continue
			}
			truth, err := perf.AppliedShift(data, perf.ArmNone, c.arm, perf.KindHTTP, p)
			if err != nil {
				cells = append(cells, fmt.Sprintf("%+.3f [%+.3f, %+.3f] (no truth)", sh.Estimate, sh.Low, sh.High))
				verdicts, ok = append(verdicts, p+": "+err.Error()), false
				missed[p]++
				continue
			}
			cell := fmt.Sprintf("%+.3f [%+.3f, %+.3f] (%+.3f)", sh.Estimate, sh.Low, sh.High, truth)
			iv := stats.Interval{Estimate: sh.Estimate, Low: sh.Low, High: sh.High, N: sh.Rounds, Level: a.Level}
			switch fw, err := iv.AtLevel(family); {
			case err != nil:
				cell += " MISS"
				verdicts, ok = append(verdicts, p+": "+err.Error()), false
				missed[p]++
			case truth < fw.Low-resolutionMs || truth > fw.High+resolutionMs:
				cell += " MISS"
				verdicts, ok = append(verdicts, fmt.Sprintf("%s: true shift outside the %.2f%% interval ± %g ms", p, 100*family, resolutionMs)), false
				missed[p]++
			}
			if p == "p50" && nominal >= 0.2 && sh.Low <= 0 {
				verdicts, ok = append(verdicts, "0.2 ms or more not told from 0 at p50"), false
				missed[p]++
			}
			cells = append(cells, cell)
		}
		ap := "—"
		if pc, n, err := perf.AppliedPercentiles(data, c.arm, perf.KindHTTP, calibrationPercentiles); err == nil && n > 0 {
			ap = fmt.Sprintf("%.1f / %.1f / %.1f µs (n=%d)", 1e3*pc["p50"], 1e3*pc["p90"], 1e3*pc["p99"], n)
		}
		verdict := "ok"
		if len(verdicts) > 0 {
			verdict = "MISS: " + strings.Join(verdicts, "; ")
		}
		fmt.Fprintf(w, "| %s\t| %.1f ms\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", c.arm, nominal, ap, cells[0], cells[1], cells[2], verdict)
	}
	_ = w.Flush()
	fmt.Fprintf(&b, "judged: each true shift (derived from the server's applied delays) within its family-wise %.2f%% interval (Bonferroni over %d intervals) ± the %g ms histogram resolution\n",
		100*family, judged, resolutionMs)
	calibrated, not := []string{}, []string{}
	for _, p := range calibrationPercentiles {
		if missed[p] == 0 {
			calibrated = append(calibrated, p)
		} else {
			not = append(not, p)
		}
	}
	fmt.Fprintf(&b, "calibrated at: %s; not calibrated at: %s\n", orNone(calibrated), orNone(not))
	cal := perf.Calibration{Load: data.Load.Preset, Calibrated: calibrated, NotCalibrated: not}
	for _, n := range a.Noise {
		if n.Kind == perf.KindHTTP {
			fmt.Fprintf(&b, "noise floor (A/A half-width) at %s: ±%.3f ms\n", n.Percentile, n.Floor())
		}
	}
	if f50, ok50 := a.NoiseFloor(perf.KindHTTP, "p50"); ok50 {
		f99, _ := a.NoiseFloor(perf.KindHTTP, "p99")
		fmt.Fprintf(&b, "smallest shift this load shape tells from 0 (half the time, at the A/A interval's half-width): p50 %.3f ms, p99 %.3f ms\n",
			f50, math.Max(f99, 0))
	}
	return b.String(), cal, ok
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
