// Package fixturerun runs the fixture Ginkgo suite
// (reports/conformance/testdata/fixturesuite) for the report layer's tests:
// compiled once per test binary, run once per scenario, each run leaving a
// real Ginkgo JSON report (and, on request, an environment record) in a
// fresh directory.
package fixturerun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// The fixture suite (testdata/fixturesuite) is compiled once per test
// binary and run per scenario; every scenario's Ginkgo JSON report is real.
// suitePackage is the fixture suite's import path.
const suitePackage = "github.com/ambient-e2e/ambient-e2e/reports/conformance/testdata/fixturesuite"

// binDir holds the compiled suite; Main removes it.
var binDir string

// Main runs the tests of a package that uses this one and then removes
// the compiled suite: call it from TestMain as os.Exit(fixturerun.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

var fixtureBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "fixturesuite-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "fixture.test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, suitePackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("compiling the fixture suite: %w\n%s", err, out)
	}
	return bin, nil
})

// Scenario is one run of the fixture suite.
type Scenario struct {
	Env  []string // FIXTURE_* variables (see the suite's doc comment)
	Args []string // extra Ginkgo flags
}

// Run runs the fixture suite in a fresh report directory and returns it;
// report.json is Ginkgo's JSON report of the run.
func (s Scenario) Run(t *testing.T) string {
	t.Helper()
	bin, err := fixtureBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := append([]string{"-ginkgo.json-report=" + filepath.Join(dir, "report.json"), "-ginkgo.no-color", "-ginkgo.seed=1"}, s.Args...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(s.Env, "FIXTURE_DIR="+dir)...)
	out, err := cmd.CombinedOutput()
	if _, statErr := os.Stat(filepath.Join(dir, "report.json")); statErr != nil {
		t.Fatalf("the fixture suite wrote no report (%v): %v\n%s", statErr, err, out)
	}
	return dir
}

// SpecList writes the suite's dry-run spec list and returns its path.
func SpecList(t *testing.T) string {
	t.Helper()
	dir := Scenario{Args: []string{"-ginkgo.dry-run"}}.Run(t)
	return filepath.Join(dir, "report.json")
}

// WriteEnvironment records in dir an environment like the suite's: kind,
// Kubernetes v1.34.4, two nodes, Istio 1.30.1 with image digests; edits
// change it before it is written.
func WriteEnvironment(t *testing.T, dir string, edits ...func(*runinfo.Environment)) {
	t.Helper()
	digest := func(b string) string { return "@sha256:" + strings.Repeat(b, 64) }
	env := runinfo.Environment{
		Suite: runinfo.Suite{Version: "v0.3.0-12-gabcdef0", Commit: strings.Repeat("a", 40), RunID: "r1234", Started: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Procs: 1},
		Cluster: runinfo.Cluster{Mode: "kind", Name: "ambient-e2e", KubernetesVersion: "v1.34.4", CNI: "kindnet", Nodes: []runinfo.Node{
			{Name: "cp", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.1.0", ContainerRuntime: "containerd://2.1.0", KubeletVersion: "v1.34.4"},
			{Name: "w1", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.1.0", ContainerRuntime: "containerd://2.1.0", KubeletVersion: "v1.34.4"},
		}},
		Mesh: runinfo.Mesh{Mode: "install", ExpectedVersion: "1.30.1", Version: "1.30.1", Namespace: "istio-system", Components: []runinfo.Component{
			{Name: "istiod", Image: "docker.io/istio/pilot:1.30.1", ImageID: "docker.io/istio/pilot" + digest("1"), Pods: 1, Ready: 1},
			{Name: "ztunnel", Image: "docker.io/istio/ztunnel:1.30.1", ImageID: "docker.io/istio/ztunnel" + digest("2"), Pods: 2, Ready: 2},
			{Name: "istio-cni-node", Image: "docker.io/istio/install-cni:1.30.1", ImageID: "docker.io/istio/install-cni" + digest("3"), Pods: 2, Ready: 2},
		}},
		Settings: []runinfo.Setting{{Name: "POLICY_TIMEOUT", Value: "30s", Source: "default"}, {Name: "ROLLBACK_BUDGET", Value: "strict", Source: "env"}},
	}
	for _, edit := range edits {
		edit(&env)
	}
	if err := runinfo.WriteEnvironment(dir, env); err != nil {
		t.Fatal(err)
	}
}
