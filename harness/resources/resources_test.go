package resources

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// *kube.Kube is what the suite passes to Scrape.
var _ Cluster = (*kube.Kube)(nil)

const node = "ambient-e2e-worker"

var (
	ztunnel = Key{"istio-system", "ztunnel-7xk2p", "istio-proxy"}
	server  = Key{"perf-7c2f9", "server-6d8f9c7b5-q4m2z", "probe"}
	hold    = Key{"perf-7c2f9", "hold-5f7b9c-k2w8d", "probe"}  // before only
	sniff   = Key{"perf-7c2f9", "sniff-8b4d6f-t3n5r", "probe"} // after only
	t0      = time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)
)

func load(t *testing.T, name string, scraped time.Time) Sample {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f, node, scraped)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestParseKeepsContainersOnly(t *testing.T) {
	s := load(t, "kubelet-cadvisor-before.prom", t0)
	if len(s.Containers) != 3 {
		t.Errorf("containers = %v, want exactly ztunnel's istio-proxy, the server's and hold's probe (no pod cgroup, no pause, no node cgroups)", keys(s))
	}
	for _, k := range []Key{ztunnel, server, hold} {
		rd, ok := s.Containers[k]
		if !ok || !rd.HasCPU || !rd.HasMemory {
			t.Errorf("%s: reading %+v (present %v), want CPU and memory", k, rd, ok)
		}
	}
	for k := range s.Containers {
		if k.Container == "" || k.Container == ContainerSandbox || k.Namespace == "" {
			t.Errorf("%s counted as a container", k)
		}
	}
	z := s.Containers[ztunnel]
	// The sample's own timestamp (third field), not the scrape's clock.
	if want := time.UnixMilli(1787411998932); !z.CPUAt.Equal(want) || !z.MemoryAt.Equal(want) {
		t.Errorf("ztunnel timestamps = %s / %s, want %s", z.CPUAt, z.MemoryAt, want)
	}
	if z.CPUSeconds != 41.831512 || z.MemoryBytes != 13852672 {
		t.Errorf("ztunnel = %g s, %g bytes; want 41.831512 s, 13852672 bytes", z.CPUSeconds, z.MemoryBytes)
	}
	if s.Node != node || !s.Scraped.Equal(t0) {
		t.Errorf("sample of %q at %s, want %q at %s", s.Node, s.Scraped, node, t0)
	}
}

func TestUsageFromTheStatsTimestamps(t *testing.T) {
	// The wall clocks are 60 s apart; the stats' timestamps 20.180 s: the
	// result must follow the stats.
	before := load(t, "kubelet-cadvisor-before.prom", t0)
	after := load(t, "kubelet-cadvisor-after.prom", t0.Add(time.Minute))
	got, err := Usage(before, after, Pods("istio-system"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("usages = %+v, want ztunnel's istio-proxy only", got)
	}
	want := runinfo.Usage{Pod: "istio-system/ztunnel-7xk2p", Container: "istio-proxy", Node: node,
		CPUCores: 1.2108 / 20.180, MemoryMiB: 14155776.0 / (1 << 20)}
	u := got[0]
	if u.Pod != want.Pod || u.Container != want.Container || u.Node != want.Node ||
		math.Abs(u.CPUCores-want.CPUCores) > 1e-9 || math.Abs(u.MemoryMiB-want.MemoryMiB) > 1e-9 {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
	if math.Abs(u.CPUCores-0.06) > 1e-4 || math.Abs(u.MemoryMiB-13.5) > 1e-9 {
		t.Errorf("usage = %.5f cores, %.3f MiB; want 0.06 cores, 13.5 MiB", u.CPUCores, u.MemoryMiB)
	}
}

func TestUsageContainerInOneScrapeOnly(t *testing.T) {
	before := load(t, "kubelet-cadvisor-before.prom", t0)
	after := load(t, "kubelet-cadvisor-after.prom", t0.Add(20*time.Second))
	got, err := Usage(before, after, Pods("perf-7c2f9"))
	if err == nil {
		t.Fatal("no error for hold (before only) and sniff (after only)")
	}
	for _, w := range []string{hold.String() + ": in the first scrape only", sniff.String() + ": in the second scrape only"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	// The server, in both scrapes, is still reported.
	if len(got) != 1 || got[0].Pod != "perf-7c2f9/"+server.Pod || math.Abs(got[0].CPUCores-3.9976/19.988) > 1e-9 {
		t.Errorf("usages = %+v, want the server's probe at 0.2 cores", got)
	}
	// Selecting the server's pod alone has no error.
	if _, err := Usage(before, after, Pods("perf-7c2f9", server.Pod)); err != nil {
		t.Errorf("server only: %v", err)
	}
}

func TestUsageCounterResetIsAnError(t *testing.T) {
	before := load(t, "kubelet-cadvisor-before.prom", t0)
	after := load(t, "kubelet-cadvisor-restarted.prom", t0.Add(20*time.Second))
	got, err := Usage(before, after, Pods("istio-system"))
	if err == nil || !strings.Contains(err.Error(), "CPU counter went down from 41.831512 s to 0.352187 s") ||
		!strings.Contains(err.Error(), "restarted") {
		t.Fatalf("error = %v, want the counter reset named", err)
	}
	for _, u := range got {
		if u.CPUCores < 0 {
			t.Errorf("negative CPU reported: %+v", u)
		}
		if u.Container == ztunnel.Container {
			t.Errorf("the restarted container is reported: %+v", u)
		}
	}
}

func TestUsageCRIStatsWallClockFallbackAndSandbox(t *testing.T) {
	before := load(t, "kubelet-cri-before.prom", t0)
	after := load(t, "kubelet-cri-after.prom", t0.Add(20*time.Second))
	for k, rd := range before.Containers {
		if k.Container == ContainerSandbox {
			t.Errorf("sandbox series counted: %s", k)
		}
		if !rd.CPUAt.IsZero() {
			t.Errorf("%s: timestamp %s from a body without timestamps", k, rd.CPUAt)
		}
	}
	if len(before.Containers) != 2 {
		t.Errorf("containers = %v, want ztunnel's istio-proxy and the client's probe", keys(before))
	}
	got, err := Usage(before, after, func(Key) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"istio-system/ztunnel-q8v4n": (6.45 - 5.25) / 20, "perf-7c2f9/client-58c9d7f6b-x7p3k": (6.5 - 2.5) / 20}
	if len(got) != len(want) {
		t.Fatalf("usages = %+v, want %v", got, want)
	}
	for _, u := range got {
		if w, ok := want[u.Pod]; !ok || math.Abs(u.CPUCores-w) > 1e-9 {
			t.Errorf("%s/%s: %g cores, want %g (wall clock window of 20 s)", u.Pod, u.Container, u.CPUCores, w)
		}
	}
}

func TestUsageStatsDidNotAdvance(t *testing.T) {
	// Two scrapes within one housekeeping interval return the same stats.
	before := load(t, "kubelet-cadvisor-before.prom", t0)
	again := load(t, "kubelet-cadvisor-before.prom", t0.Add(3*time.Second))
	_, err := Usage(before, again, Pods("istio-system"))
	if err == nil || !strings.Contains(err.Error(), "did not advance") || !strings.Contains(err.Error(), "10-15 s") {
		t.Fatalf("error = %v, want stats that did not advance", err)
	}
}

func TestDuplicateSeriesAreAmbiguous(t *testing.T) {
	body := `# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",cpu="total",id="/a",namespace="ns",pod="p"} 10 1787412000000
container_cpu_usage_seconds_total{container="app",cpu="total",id="/b",namespace="ns",pod="p"} 0.5 1787412000000
container_cpu_usage_seconds_total{container="app",cpu="cpu00",id="/a",namespace="ns",pod="q"} 3 1787412000000
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="app",id="/a",namespace="ns",pod="p"} 1048576 1787412000000
`
	s, err := Parse(strings.NewReader(body), node, t0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Duplicates[Key{"ns", "p", "app"}] != 1 {
		t.Errorf("duplicates = %v, want ns/p/app once", s.Duplicates)
	}
	if _, ok := s.Containers[Key{"ns", "q", "app"}]; ok {
		t.Error("a per-CPU series was read as the container's total")
	}
	_, err = Usage(s, s, Pods("ns", "p"))
	if err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("error = %v, want ambiguous figures", err)
	}
}

func TestParseRejectsWhatIsNotCAdvisor(t *testing.T) {
	for name, body := range map[string]string{
		"not prometheus text": "container_cpu_usage_seconds_total{container=\"a\" 12\n",
		"other families only": "# TYPE up gauge\nup 1\n",
	} {
		if _, err := Parse(strings.NewReader(body), node, t0); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

func TestUsageRejectsBadArguments(t *testing.T) {
	a := load(t, "kubelet-cadvisor-before.prom", t0)
	b := a
	b.Node = "other"
	if _, err := Usage(a, b, Pods("istio-system")); err == nil || !strings.Contains(err.Error(), "one node") {
		t.Errorf("two nodes: error %v", err)
	}
	if _, err := Usage(a, a, Pods("nowhere")); err == nil || !strings.Contains(err.Error(), "no container") {
		t.Errorf("nothing selected: error %v", err)
	}
	if _, err := Usage(a, a, nil); err == nil {
		t.Error("nil selector accepted")
	}
}

type cluster struct{ cfg *rest.Config }

func (c cluster) Clientset() (kubernetes.Interface, error) { return kubernetes.NewForConfig(c.cfg) }

func TestScrapeThroughTheAPIServer(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "kubelet-cadvisor-after.prom"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if r.URL.Path != "/api/v1/nodes/"+node+"/proxy/metrics/cadvisor" {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403}`, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := cluster{&rest.Config{Host: srv.URL}}

	s, err := Scrape(context.Background(), c, node)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node != node || len(s.Containers) != 3 || time.Since(s.Scraped) > time.Minute {
		t.Errorf("sample of %q with %v at %s", s.Node, keys(s), s.Scraped)
	}
	if _, err := Scrape(context.Background(), c, "other-node"); err == nil || !strings.Contains(err.Error(), "nodes/proxy") {
		t.Errorf("forbidden: error %v, want one naming nodes/proxy", err)
	}
	if len(paths) != 2 {
		t.Errorf("requests = %v, want 2", paths)
	}
}

func TestPerThousandRPS(t *testing.T) {
	if got := PerThousandRPS(0.06, 1000); math.Abs(got-0.06) > 1e-12 {
		t.Errorf("0.06 cores at 1000 rps = %g per 1000 rps", got)
	}
	if got := PerThousandRPS(0.03, 500); math.Abs(got-0.06) > 1e-12 {
		t.Errorf("0.03 cores at 500 rps = %g per 1000 rps, want 0.06", got)
	}
	for _, rps := range []float64{0, -5, math.NaN(), math.Inf(1)} {
		if got := PerThousandRPS(0.1, rps); !math.IsNaN(got) {
			t.Errorf("PerThousandRPS(0.1, %g) = %g, want NaN", rps, got)
		}
	}
}

func keys(s Sample) []string {
	var out []string
	for k := range s.Containers {
		out = append(out, k.String())
	}
	return out
}
