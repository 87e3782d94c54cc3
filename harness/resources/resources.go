// Package resources reads containers' CPU and memory from the kubelet's
// cAdvisor endpoint through the API server (GET
// /api/v1/nodes/<node>/proxy/metrics/cadvisor), so no metrics-server is
// needed, and turns two scrapes into each container's average CPU and its
// working set.
//
// The endpoint's format (see testdata/README.md for the sources): the
// families container_cpu_usage_seconds_total (counter, seconds, cpu="total")
// and container_memory_working_set_bytes (gauge, bytes), labelled namespace,
// pod and container. Every sample carries the millisecond timestamp of the
// stats it reports, per container, as its third field. Series with
// namespace="" or pod="" are cgroups outside pods; container="" is the pod
// cgroup (and, on containerd, the pause container); container="POD" is the
// sandbox as the CRI stats path and dockershim label it. None of those is a
// container and none is counted.
//
// The kubelet refreshes these stats every 10 s, dynamically up to 15 s
// (kubernetes pkg/kubelet/cadvisor: defaultHousekeepingInterval,
// maxHousekeepingInterval), so a scrape reports stats up to 15 s old. Usage
// therefore divides by the window between the stats' own timestamps, not
// the scrapes' wall clocks; and a window over a steady load should start
// after at least 15 s of that load.
package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Families and labels read from the endpoint.
const (
	MetricCPU      = "container_cpu_usage_seconds_total"
	MetricMemory   = "container_memory_working_set_bytes"
	LabelNamespace = "namespace"
	LabelPod       = "pod"
	LabelContainer = "container"
	LabelCPU       = "cpu"
	// ContainerSandbox is the container label of the pod sandbox's series.
	ContainerSandbox = "POD"
)

// MaxStatsAge is how old the kubelet's cAdvisor stats can be when scraped
// (its maximum housekeeping interval).
const MaxStatsAge = 15 * time.Second

const mib = 1 << 20

// Key names one container.
type Key struct {
	Namespace string
	Pod       string
	Container string
}

func (k Key) String() string { return k.Namespace + "/" + k.Pod + "/" + k.Container }

// Reading is one container's figures in one scrape. At fields are the
// stats' own timestamps; zero when the sample had none.
type Reading struct {
	CPUSeconds  float64
	CPUAt       time.Time
	HasCPU      bool
	MemoryBytes float64
	MemoryAt    time.Time
	HasMemory   bool
}

// Sample is one scrape of one node.
type Sample struct {
	Node       string
	Scraped    time.Time // wall clock when the body arrived
	Containers map[Key]Reading
	// Duplicates counts keys that had more than one series of a family,
	// e.g. the old and the new container while one restarts; their figures
	// are not used.
	Duplicates map[Key]int
}

// Cluster is what Scrape needs of a cluster client; *kube.Kube is one.
type Cluster interface {
	Clientset() (kubernetes.Interface, error)
}

// Scrape reads node's cAdvisor endpoint through the API server.
func Scrape(ctx context.Context, c Cluster, node string) (Sample, error) {
	cs, err := c.Clientset()
	if err != nil {
		return Sample{}, err
	}
	body, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", node, "proxy", "metrics", "cadvisor").DoRaw(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("GET /api/v1/nodes/%s/proxy/metrics/cadvisor: %w (the suite's user needs get on nodes/proxy)", node, err)
	}
	s, err := Parse(bytes.NewReader(body), node, time.Now())
	if err != nil {
		return Sample{}, fmt.Errorf("node %s: %w", node, err)
	}
	return s, nil
}

// Parse reads a cAdvisor body (Prometheus text) scraped from node at
// scraped. Families other than MetricCPU and MetricMemory are ignored, as
// are per-CPU series (a cpu label other than "total").
func Parse(r io.Reader, node string, scraped time.Time) (Sample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Sample{}, fmt.Errorf("cAdvisor metrics are not Prometheus text: %w", err)
	}
	s := Sample{Node: node, Scraped: scraped, Containers: map[Key]Reading{}, Duplicates: map[Key]int{}}
	cpu, mem := families[MetricCPU], families[MetricMemory]
	if cpu == nil && mem == nil {
		return Sample{}, fmt.Errorf("cAdvisor metrics have neither %s nor %s; is this the kubelet's /metrics/cadvisor?", MetricCPU, MetricMemory)
	}
	seen := map[string]map[Key]bool{MetricCPU: {}, MetricMemory: {}}
	for _, mf := range []*dto.MetricFamily{cpu, mem} {
		if mf == nil {
			continue
		}
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			k := Key{Namespace: labels[LabelNamespace], Pod: labels[LabelPod], Container: labels[LabelContainer]}
			if k.Namespace == "" || k.Pod == "" || k.Container == "" || k.Container == ContainerSandbox {
				continue
			}
			if c, ok := labels[LabelCPU]; ok && c != "total" {
				continue
			}
			if seen[name][k] {
				s.Duplicates[k]++
				continue
			}
			seen[name][k] = true
			var at time.Time
			if m.TimestampMs != nil {
				at = time.UnixMilli(m.GetTimestampMs())
			}
			rd := s.Containers[k]
			if name == MetricCPU {
				rd.CPUSeconds, rd.CPUAt, rd.HasCPU = value(m), at, true
			} else {
				rd.MemoryBytes, rd.MemoryAt, rd.HasMemory = value(m), at, true
			}
			s.Containers[k] = rd
		}
	}
	return s, nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}

// Selector picks the containers Usage reports.
type Selector func(Key) bool

// Pods selects every container of the named pods in namespace, or of every
// pod in namespace when no pod is named.
func Pods(namespace string, pods ...string) Selector {
	return func(k Key) bool {
		return k.Namespace == namespace && (len(pods) == 0 || slices.Contains(pods, k.Pod))
	}
}

// Usage is each selected container's average CPU (cores) between two
// scrapes of one node, and its working set at the second. The window is
// the one between the CPU samples' own timestamps, or between the scrapes'
// wall clocks when a sample has none. A selected container that is in one
// scrape only, whose counter went down (it restarted) or whose stats did
// not advance is an error naming it; the other containers' usages are still
// returned, sorted by pod and container.
func Usage(before, after Sample, sel Selector) ([]runinfo.Usage, error) {
	if before.Node != after.Node {
		return nil, fmt.Errorf("usage needs two scrapes of one node, got %q and %q", before.Node, after.Node)
	}
	if sel == nil {
		return nil, errors.New("usage needs a selector of the containers to report")
	}
	keys := map[Key]bool{}
	for _, s := range []Sample{before, after} {
		for k := range s.Containers {
			if sel(k) {
				keys[k] = true
			}
		}
		for k := range s.Duplicates {
			if sel(k) {
				keys[k] = true
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("node %s: no container in either scrape matches the selector; check the namespace and pod names (and that the pods run on this node)", before.Node)
	}
	sorted := slices.SortedFunc(maps.Keys(keys), func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	var out []runinfo.Usage
	var errs []error
	for _, k := range sorted {
		u, err := usage(k, before, after)
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s, container %s: %w", before.Node, k, err))
			continue
		}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}

func usage(k Key, before, after Sample) (runinfo.Usage, error) {
	if before.Duplicates[k] > 0 || after.Duplicates[k] > 0 {
		return runinfo.Usage{}, errors.New("more than one series for it in a scrape (a container restarting?); its figures are ambiguous")
	}
	b, inBefore := before.Containers[k]
	a, inAfter := after.Containers[k]
	switch {
	case !inBefore:
		return runinfo.Usage{}, errors.New("in the second scrape only: it started (or restarted) during the window, so its CPU over the window is unknown")
	case !inAfter:
		return runinfo.Usage{}, errors.New("in the first scrape only: it stopped during the window")
	case !b.HasCPU || !a.HasCPU:
		return runinfo.Usage{}, fmt.Errorf("no %s series in both scrapes", MetricCPU)
	case !a.HasMemory:
		return runinfo.Usage{}, fmt.Errorf("no %s series in the second scrape", MetricMemory)
	}
	from, to, clock := b.CPUAt, a.CPUAt, "the stats' timestamps"
	if from.IsZero() || to.IsZero() {
		from, to, clock = before.Scraped, after.Scraped, "the scrapes' wall clocks"
	}
	dt := to.Sub(from).Seconds()
	if !(dt > 0) {
		return runinfo.Usage{}, fmt.Errorf("its stats did not advance between the scrapes (%s: %s to %s); the kubelet refreshes them every 10-15 s, so read over a longer window",
			clock, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	dcpu := a.CPUSeconds - b.CPUSeconds
	if dcpu < 0 {
		return runinfo.Usage{}, fmt.Errorf("its CPU counter went down from %g s to %g s: the container restarted during the window, so its CPU over the window is unknown",
			b.CPUSeconds, a.CPUSeconds)
	}
	return runinfo.Usage{
		Pod: k.Namespace + "/" + k.Pod, Container: k.Container, Node: after.Node,
		CPUCores: dcpu / dt, MemoryMiB: a.MemoryBytes / mib,
	}, nil
}

// PerThousandRPS is CPU per 1000 requests per second: cores × 1000 / rps.
// It is NaN when rps is not a number > 0.
func PerThousandRPS(cores, rps float64) float64 {
	if !(rps > 0) || math.IsInf(rps, 0) {
		return math.NaN()
	}
	return cores * 1000 / rps
}
