package budget

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedDefault(t *testing.T) {
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	sel, err := f.Select("", "")
	if err != nil {
		t.Fatal(err)
	}
	if sel.ProfileName != "seed" || sel.LoadName != "short" || sel.Source != DefaultSource {
		t.Errorf("default selection = %s/%s from %s, want seed/short from %s", sel.ProfileName, sel.LoadName, sel.Source, DefaultSource)
	}

	// The seed's figures.
	for _, c := range []struct {
		mode, p string
		want    float64
	}{{ModeL4, "p50", 1}, {ModeL4, "p99", 1}, {ModeWaypoint, "p50", 5}, {ModeWaypoint, "p99", 5}} {
		if got, ok := sel.Profile.LatencyBudget(c.mode, c.p); !ok || got != c.want {
			t.Errorf("seed %s %s = %g, %v; want %g", c.mode, c.p, got, ok, c.want)
		}
	}
	if v, ok := sel.Profile.ResourceBudget(ComponentZtunnel, QuantityMemory); !ok || v != 50 {
		t.Errorf("seed ztunnel memory = %g, %v; want 50", v, ok)
	}

	// Istio's published figures: L4 at p90 and p99, no waypoint latency.
	istio := f.Profiles["istio"]
	if v, ok := istio.LatencyBudget(ModeL4, "p99"); !ok || v != 0.20 {
		t.Errorf("istio l4 p99 = %g, %v; want 0.20", v, ok)
	}
	if v, ok := istio.LatencyBudget(ModeL4, "p90"); !ok || v != 0.17 {
		t.Errorf("istio l4 p90 = %g, %v; want 0.17", v, ok)
	}
	if v, ok := istio.LatencyBudget(ModeWaypoint, "p99"); ok {
		t.Errorf("istio has a waypoint latency budget %g; Istio publishes none in text", v)
	}
	// Istio's TestZtunnelRestart bar (success rate .9); the seed has none.
	if v, ok := istio.RestartBudget(ComponentZtunnel, QuantityNewConnectionFailures); !ok || v != 0.1 {
		t.Errorf("istio ztunnel restart = %g, %v; want 0.1", v, ok)
	}
	if v, ok := sel.Profile.RestartBudget(ComponentZtunnel, QuantityNewConnectionFailures); ok {
		t.Errorf("seed has a ztunnel restart budget %g; the seed article says nothing of upgrades", v)
	}
	if v, ok := istio.ResourceBudget(ComponentWaypoint, QuantityCPU); !ok || v != 0.25 {
		t.Errorf("istio waypoint cpu = %g, %v; want 0.25", v, ok)
	}
	// Istio's profile is the stricter one wherever both have a budget.
	for mode, ps := range istio.Latency {
		for p, v := range ps {
			if seed, ok := sel.Profile.LatencyBudget(mode, p); ok && v > seed {
				t.Errorf("istio %s %s = %g is looser than the seed's %g", mode, p, v, seed)
			}
		}
	}
	if z, _ := istio.ResourceBudget(ComponentZtunnel, QuantityCPU); z >= 0.1 {
		t.Errorf("istio ztunnel cpu %g is not stricter than the seed's 0.1", z)
	}
}

// The short preset's arithmetic, as documented in budgets.yaml: 4 arms of
// which 3 run the TCP trials, 5 rounds, at most 3 minutes of trial time,
// with enough requests per trial for a p99.
func TestShortPresetFitsThreeMinutes(t *testing.T) {
	sel, err := Select("", "", "short")
	if err != nil {
		t.Fatal(err)
	}
	l := sel.Load
	if got := l.LatencyDuration(4, 3); got > 3*time.Minute {
		t.Errorf("short preset: the latency rounds take %s of trial time, want ≤ 3m", got)
	}
	if got, want := l.LatencyDuration(4, 3), 180*time.Second; got != want {
		t.Errorf("LatencyDuration(4, 3) = %s, want %s as budgets.yaml computes", got, want)
	}
	// Resource trials for L4 and waypoint: 2 × (15 s + 20 s).
	if got, want := l.EstimatedDuration(4, 3, 2), 250*time.Second; got != want {
		t.Errorf("EstimatedDuration(4, 3, 2) = %s, want %s as budgets.yaml computes", got, want)
	}
	if l.ResourceWarmup() < 15*time.Second || l.ResourceTrial() < 20*time.Second {
		t.Errorf("short preset resource trial %s after %s: shorter than the kubelet's stats allow", l.ResourceTrial(), l.ResourceWarmup())
	}
	if l.RequestsPerTrial() < 1000 || l.Rounds < 5 || l.WarmupSeconds <= 0 {
		t.Errorf("short preset: %g requests per trial, %d rounds, %gs warm-up; want ≥ 1000, ≥ 5, > 0",
			l.RequestsPerTrial(), l.Rounds, l.WarmupSeconds)
	}
	if l.ResolutionMs > MaxResolutionMs {
		t.Errorf("short preset resolution %g ms is coarser than 10 µs", l.ResolutionMs)
	}
	shape := l.Shape(sel.LoadName)
	if shape.Preset != "short" || shape.QPS != l.QPS || shape.Rounds != l.Rounds || shape.ResolutionMs != l.ResolutionMs {
		t.Errorf("Shape = %+v does not carry the preset %+v", shape, l)
	}
}

func TestLabPresetIsShapedLikeIstiosBenchmark(t *testing.T) {
	sel, err := Select("", "istio", "lab")
	if err != nil {
		t.Fatal(err)
	}
	l := sel.Load
	if l.QPS != 1000 || l.PayloadBytes != 1024 || l.Connections != 4 || l.ResolutionMs != 0.01 {
		t.Errorf("lab preset = %+v, want 1000 qps, 1024 bytes, 4 connections, 0.01 ms", l)
	}
	if l.Trial() != 148*time.Second || l.Warmup() != 62*time.Second {
		t.Errorf("lab trial %s after %s warm-up, want 148s after 62s", l.Trial(), l.Warmup())
	}
}

func TestEstimatedDurationCountsEveryPart(t *testing.T) {
	l := Load{TrialSeconds: 10, WarmupSeconds: 5, Rounds: 3, TCPRoundTrips: 1000, TCPConnects: 1000,
		ResourceWarmupSeconds: 15, ResourceSeconds: 30}
	// 3 × (2 × 15 s + 1 × (1000 × 1 ms + 1000 × 2 ms)) = 3 × 33 s
	if got, want := l.LatencyDuration(2, 1), 99*time.Second; got != want {
		t.Errorf("LatencyDuration(2, 1) = %s, want %s", got, want)
	}
	// plus 2 × (15 s + 30 s)
	if got, want := l.EstimatedDuration(2, 1, 2), 189*time.Second; got != want {
		t.Errorf("EstimatedDuration(2, 1, 2) = %s, want %s", got, want)
	}
}

// valid is a small budgets file every error case below breaks in one place.
const valid = `
profile: p
load: l
profiles:
  p:
    latency:
      l4: {p50: 1.0, p99: 1.0}
      waypoint: {p99: 5.0}
    resources:
      ztunnel: {cpuPer1000rps: 0.1, memoryMiB: 50}
loads:
  l:
    qps: 500
    connections: 4
    payloadBytes: 1024
    trialSeconds: 4
    warmupSeconds: 2
    rounds: 5
    resolutionMs: 0.01
    tcpRoundTrips: 2000
    tcpConnects: 1000
    resourceWarmupSeconds: 15
    resourceSeconds: 20
`

func TestValidFile(t *testing.T) {
	f, err := Parse([]byte(valid), "valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sel, err := f.Select("", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sel.Profile.LatencyBudget(ModeWaypoint, "p50"); ok {
		t.Error("a percentile absent from the file has a budget")
	}
	if _, ok := sel.Profile.ResourceBudget(ComponentWaypoint, QuantityCPU); ok {
		t.Error("a component absent from the file has a budget")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string
		want     []string // every one must be in the error
	}{
		{"unknown top-level key", "profile: p\n", "profile: p\nbudgets: {}\n", []string{"the top level", `unknown field "budgets"`}},
		{"unknown load key", "    qps: 500\n", "    qps: 500\n    qpss: 500\n", []string{"loads.l", `unknown field "qpss"`, "the keys here are qps"}},
		{"unknown profile key", "    latency:\n", "    latencies: {}\n    latency:\n", []string{"profiles.p", `unknown field "latencies"`}},
		{"unknown mode", "      waypoint: {p99: 5.0}", "      sidecar: {p99: 5.0}", []string{"profiles.p.latency.sidecar", "unknown mode"}},
		{"unknown percentile", "{p50: 1.0, p99: 1.0}", "{p95: 1.0, p99: 1.0}", []string{"profiles.p.latency.l4.p95", "unknown key"}},
		{"unknown component", "      ztunnel:", "      istiod:", []string{"profiles.p.resources.istiod", "unknown component"}},
		{"unknown quantity", "cpuPer1000rps: 0.1", "cpu: 0.1", []string{"profiles.p.resources.ztunnel.cpu", "unknown key"}},
		{"unknown restarted component", "    resources:\n", "    restart:\n      istiod: {newConnectionFailureRate: 0.1}\n    resources:\n",
			[]string{"profiles.p.restart.istiod", "unknown component"}},
		{"restart share over 1", "    resources:\n", "    restart:\n      ztunnel: {newConnectionFailureRate: 5}\n    resources:\n",
			[]string{"profiles.p.restart.ztunnel.newConnectionFailureRate", "at most 1"}},
		{"unknown restart quantity", "    resources:\n", "    restart:\n      ztunnel: {failures: 1}\n    resources:\n",
			[]string{"profiles.p.restart.ztunnel.failures", "unknown key"}},
		{"negative budget", "p50: 1.0", "p50: -1.0", []string{"profiles.p.latency.l4.p50", "budget -1 must be a finite number > 0"}},
		{"zero budget", "memoryMiB: 50", "memoryMiB: 0", []string{"profiles.p.resources.ztunnel.memoryMiB", "budget 0"}},
		{"missing budget value", "p50: 1.0,", "p50: ,", []string{"profiles.p.latency.l4.p50", "missing value"}},
		{"empty budget group", "{p99: 5.0}", "{}", []string{"profiles.p.latency.waypoint", "empty"}},
		{"budget not a number", "p50: 1.0", "p50: fast", []string{"profiles.p", "want a number"}},
		{"default profile unknown", "profile: p\n", "profile: q\n", []string{"profile:", `"q" is not under profiles`}},
		{"default load missing", "load: l\n", "", []string{"load: missing"}},
		{"resolution too coarse", "resolutionMs: 0.01", "resolutionMs: 0.05", []string{"loads.l.resolutionMs", "10 µs"}},
		{"resolution zero", "resolutionMs: 0.01", "resolutionMs: 0", []string{"loads.l.resolutionMs"}},
		{"too few rounds", "rounds: 5", "rounds: 2", []string{"loads.l.rounds", "2 is outside 3..100"}},
		{"no connections", "connections: 4", "connections: 0", []string{"loads.l.connections", "outside 1..64"}},
		{"too many connections", "connections: 4", "connections: 65", []string{"loads.l.connections", "outside 1..64"}},
		{"payload over 1 MiB", "payloadBytes: 1024", "payloadBytes: 2097152", []string{"loads.l.payloadBytes", "1 MiB"}},
		{"qps beyond the bound", "qps: 500", "qps: 6000", []string{"loads.l.qps", "6000 is outside (0, 5000]"}},
		{"qps × trial beyond the bound", "trialSeconds: 4", "trialSeconds: 600", []string{"loads.l", "300000 requests per trial is beyond 200000"}},
		{"too few requests for a p99", "trialSeconds: 4", "trialSeconds: 1", []string{"loads.l", "500 requests per trial is below 1000"}},
		{"no warm-up", "warmupSeconds: 2", "warmupSeconds: 0", []string{"loads.l.warmupSeconds", "must be > 0"}},
		{"missing load key", "    rounds: 5\n", "", []string{"loads.l.rounds: missing"}},
		{"too few tcp round trips", "tcpRoundTrips: 2000", "tcpRoundTrips: 10", []string{"loads.l.tcpRoundTrips", "outside 1000..200000"}},
		{"too many tcp connects", "tcpConnects: 1000", "tcpConnects: 50000", []string{"loads.l.tcpConnects", "TIME_WAIT"}},
		{"resource warm-up shorter than the stats' age", "resourceWarmupSeconds: 15", "resourceWarmupSeconds: 5", []string{"loads.l.resourceWarmupSeconds", "15 s old"}},
		{"resource trial too short", "resourceSeconds: 20", "resourceSeconds: 10", []string{"loads.l.resourceSeconds", "below 20 s"}},
		{"resource trial beyond the bound", "resourceSeconds: 20", "resourceSeconds: 1000", []string{"loads.l", "qps × resourceSeconds = 500000 requests is beyond 200000"}},
		{"integer expected", "connections: 4", "connections: 4.5", []string{"loads.l.connections", "want an integer"}},
		{"duplicate key", "    qps: 500\n", "    qps: 500\n    qps: 600\n", []string{"not valid YAML", "already set"}},
		{"no loads", "loads:\n", "loadz:\n", []string{`unknown field "loadz"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(valid, tc.old) {
				t.Fatalf("test setup: %q is not in the valid file", tc.old)
			}
			doc := strings.Replace(valid, tc.old, tc.new, 1)
			_, err := Parse([]byte(doc), "bad.yaml")
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", doc)
			}
			if !strings.HasPrefix(err.Error(), "budgets file bad.yaml: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	doc := strings.NewReplacer("qps: 500", "qps: 6000", "rounds: 5", "rounds: 1", "p50: 1.0", "p50: -2").Replace(valid)
	_, err := Parse([]byte(doc), "bad.yaml")
	if err == nil {
		t.Fatal("Parse accepted three errors")
	}
	for _, w := range []string{"loads.l.qps", "loads.l.rounds", "profiles.p.latency.l4.p50"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestParseEmptyDocuments(t *testing.T) {
	for _, doc := range []string{"", "   \n", "null", "- a\n- b\n"} {
		if _, err := Parse([]byte(doc), "empty.yaml"); err == nil {
			t.Errorf("Parse(%q) accepted it", doc)
		}
	}
}

func TestSelectUnknownNames(t *testing.T) {
	f, err := Parse([]byte(valid), "valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Select("strict", "huge")
	if err == nil {
		t.Fatal("Select accepted unknown names")
	}
	for _, w := range []string{`budget profile "strict" is not in valid.yaml; it has p`, `load preset "huge" is not in valid.yaml; it has l`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestSelectUserFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(valid, "p50: 1.0", "p50: 0.3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sel, err := Select(path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sel.Profile.LatencyBudget(ModeL4, "p50"); v != 0.3 || sel.Source != path {
		t.Errorf("user file: l4 p50 = %g from %s, want 0.3 from %s", v, sel.Source, path)
	}
	_, err = Select(filepath.Join(dir, "absent.yaml"), "", "")
	if err == nil || !strings.Contains(err.Error(), "LATENCY_BUDGETS") {
		t.Errorf("missing file: error %v, want one naming LATENCY_BUDGETS", err)
	}
}

// BenchmarkParseDefault measures the validation of the embedded file: it
// must take milliseconds at most, before any cluster work.
func BenchmarkParseDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}
