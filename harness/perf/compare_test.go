package perf

import (
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

func TestComponentIn(t *testing.T) {
	c := ComponentIn("istio-system")
	for u, want := range map[runinfo.Usage]string{
		{Pod: "istio-system/ztunnel-abc", Container: "istio-proxy"}: budget.ComponentZtunnel,
		{Pod: "other/ztunnel-abc", Container: "istio-proxy"}:        "",
		{Pod: "perf-1/waypoint-6d9f-x", Container: "istio-proxy"}:   budget.ComponentWaypoint,
		{Pod: "perf-1/waypoint-6d9f-x", Container: "istio-init"}:    "",
		{Pod: "perf-1/server-1", Container: "probe"}:                "",
	} {
		if got := c(u); got != want {
			t.Errorf("%+v counts for %q, want %q", u, got, want)
		}
	}
}

func TestCompareTablePutsTheMeasuredFiguresBesideEveryProfile(t *testing.T) {
	f, err := budget.Default()
	if err != nil {
		t.Fatal(err)
	}
	a := handAnalysis()
	a.Shifts = append(a.Shifts, runinfo.Shift{Kind: KindTCPCRR, Arm: ArmL4, Baseline: ArmNone, Percentile: "p50", Estimate: 0.3, Low: 0.25, High: 0.35, Rounds: 5})
	data := runinfo.PerfData{
		Arms: []string{ArmNone, ArmNoneAA, ArmL4},
		Load: runinfo.LoadShape{Preset: "short", QPS: 500, Connections: 4, PayloadBytes: 1024, TrialSeconds: 4, WarmupSeconds: 2, Rounds: 5},
		Trials: []runinfo.Trial{{Arm: ArmL4, Kind: KindResources, Resources: []runinfo.Usage{
			{Pod: "istio-system/ztunnel-a", Container: "istio-proxy", CPUCores: 0.04, MemoryMiB: 30}}}},
	}
	table, err := CompareTable(data, a, f, ArmL4, ComponentIn("istio-system"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Load: 500 rps over 4 connections, 1024 B payload, 4s trials after 2s warm-ups, 5 interleaved rounds (short preset); L4 over none.",
		"| quantity | measured | seed | istio |",
		// L4 p50 +0.2 [0.17, 0.23]: the seed's 1 ms holds, Istio has no p50 figure.
		"| HTTP added latency p50 | +0.200 ms [+0.170, +0.230] | 1 ms: holds | — |",
		// p90 0.19 [0.16, 0.22] against Istio's 0.17: the upper bound is above it.
		"| HTTP added latency p90 | +0.190 ms [+0.160, +0.220] | — | 0.17 ms: exceeded |",
		"| HTTP added latency p99 | +0.220 ms [+0.180, +0.260] | 1 ms: holds | 0.2 ms: exceeded |",
		// 0.04 cores at 500 rps: 0.08 per 1000 rps.
		"| ztunnel CPU per 1000 rps | 0.080 vCPU | 0.1 vCPU: holds | 0.06 vCPU: exceeded |",
		"| ztunnel memory | 30.000 MiB | 50 MiB: holds | 12 MiB: exceeded |",
		"| TCP_CRR added latency p50 | +0.300 ms [+0.250, +0.350] | — | — |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// Calibrated at p50 and p90 only: p99 cannot be judged under any profile.
	cal := &Calibration{Load: "short", Calibrated: []string{"p50", "p90"}, NotCalibrated: []string{"p99"}, Source: "calibration.json"}
	table, err = CompareTable(data, a, f, ArmL4, ComponentIn("istio-system"), cal)
	if err != nil {
		t.Fatal(err)
	}
	if want := "| HTTP added latency p99 | +0.220 ms [+0.180, +0.260] | 1 ms: cannot be judged | 0.2 ms: cannot be judged |"; !strings.Contains(table, want) {
		t.Errorf("with p99 not calibrated the table lacks %q:\n%s", want, table)
	}
	if _, err := CompareTable(data, a, f, ArmNone, nil, nil); err == nil {
		t.Error("a table for the baseline arm: no error")
	}
}
