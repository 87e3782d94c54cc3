package perf

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// ComponentIn says which budget component a container's usage counts for
// (Judging.Component): the ztunnels in the mesh's namespace, a waypoint's
// proxy (its pods are named after the Gateway, "waypoint-…", container
// istio-proxy); "" for every other container.
func ComponentIn(meshNamespace string) func(runinfo.Usage) string {
	return func(u runinfo.Usage) string {
		ns, pod, _ := strings.Cut(u.Pod, "/")
		switch {
		case ns == meshNamespace && strings.HasPrefix(pod, "ztunnel-"):
			return budget.ComponentZtunnel
		case strings.HasPrefix(pod, "waypoint-") && u.Container == "istio-proxy":
			return budget.ComponentWaypoint
		}
		return ""
	}
}

// CompareTable renders one mode's measured figures beside every profile of
// the budgets file, in Markdown: the added latency at each percentile with
// its 95% interval, the component's CPU per 1000 rps and memory, and the
// TCP_RR and TCP_CRR shifts; each profile's budget with the verdict it
// gives, "—" where it has none. The load shape heads the table: a figure
// means nothing without it. cal (may be nil) is the instrument's
// calibration: see Judging.Calibration.
func CompareTable(data runinfo.PerfData, a Analysis, f budget.File, arm string, component func(runinfo.Usage) string, cal *Calibration) (string, error) {
	mode, ok := DefaultModes[arm]
	if !ok {
		return "", fmt.Errorf("arm %q has no budget mode; the judged arms are %s, %s", arm, ArmL4, ArmWaypoint)
	}
	// Every profile, the default one first.
	names := slices.Sorted(maps.Keys(f.Profiles))
	if i := slices.Index(names, f.Profile); i > 0 {
		names = append([]string{f.Profile}, slices.Delete(names, i, i+1)...)
	}
	byProfile := map[string]map[string]Judgement{}
	for _, n := range names {
		sel, err := f.Select(n, data.Load.Preset)
		if err != nil {
			return "", err
		}
		js, err := Judge(data, a, Judging{Selection: sel, Modes: map[string]string{arm: mode}, Component: component, Calibration: cal})
		if err != nil {
			return "", err
		}
		byProfile[n] = map[string]Judgement{}
		for _, j := range js {
			byProfile[n][j.Name] = j
		}
	}
	var b strings.Builder
	l := data.Load
	fmt.Fprintf(&b, "Load: %g rps over %d connections, %d B payload, %gs trials after %gs warm-ups, %d interleaved rounds (%s preset); %s over %s.\n\n",
		l.QPS, l.Connections, l.PayloadBytes, l.TrialSeconds, l.WarmupSeconds, l.Rounds, l.Preset, arm, a.Baseline)
	head := "| quantity | measured |"
	sep := "|---|---|"
	for _, n := range names {
		head += " " + n + " |"
		sep += "---|"
	}
	b.WriteString(head + "\n" + sep + "\n")
	row := func(label, measured, key string) {
		line := "| " + label + " | " + measured + " |"
		for _, n := range names {
			j, ok := byProfile[n][key]
			if !ok || j.Verdict == VerdictNoBudget {
				line += " — |"
				continue
			}
			line += fmt.Sprintf(" %g %s: %s |", j.Budget, j.Unit, j.Verdict)
		}
		b.WriteString(line + "\n")
	}
	for _, p := range budget.Percentiles {
		if s, ok := a.Shift(arm, KindHTTP, p); ok {
			row("HTTP added latency "+p, fmt.Sprintf("%+.3f ms [%+.3f, %+.3f]", s.Estimate, s.Low, s.High), mode+"."+KindHTTP+"."+p)
		}
	}
	comp := componentOf[mode]
	first := byProfile[names[0]]
	for _, q := range []struct{ key, label, unit string }{
		{budget.QuantityCPU, comp + " CPU per 1000 rps", "vCPU"}, {budget.QuantityMemory, comp + " memory", "MiB"},
	} {
		j, ok := first[mode+"."+comp+"."+q.key]
		if !ok || j.Verdict == runinfo.BudgetCannotJudge {
			continue
		}
		row(q.label, fmt.Sprintf("%.3f %s", j.Estimate, q.unit), mode+"."+comp+"."+q.key)
	}
	for _, kind := range []string{KindTCPRR, KindTCPCRR} {
		for _, p := range budget.Percentiles {
			if s, ok := a.Shift(arm, kind, p); ok {
				row(strings.ToUpper(strings.ReplaceAll(kind, "-", "_"))+" added latency "+p, fmt.Sprintf("%+.3f ms [%+.3f, %+.3f]", s.Estimate, s.Low, s.High), "")
			}
		}
	}
	for _, n := range a.Noise {
		if n.Kind == KindHTTP {
			fmt.Fprintf(&b, "\nHTTP noise floor (A/A half-width) at %s: ±%.3f ms", n.Percentile, n.Floor())
		}
	}
	b.WriteString("\n")
	return b.String(), nil
}
