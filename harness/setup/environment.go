package setup

import (
	"context"
	"os"
	"os/exec"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// VerdictSettings are the settings that can change a verdict; the reports
// name them with their values and sources.
var VerdictSettings = []string{
	"CLUSTER_MODE", "MESH_MODE", "ISTIO_VERSION", "LABEL_FILTER", "READY_TIMEOUT", "ENROLL_TIMEOUT",
	"POLICY_TIMEOUT", "WAYPOINT_TIMEOUT", "PULL_TIMEOUT", "ROLLBACK_BUDGET", "LATENCY_BUDGETS",
	"LATENCY_PROFILE", "LOAD_PRESET", "LATENCY_CALIBRATION", "TRUST_DOMAIN", "ISTIO_NAMESPACE", "ISTIO_REVISION", "CLUSTER_DOMAIN",
}

// cniDaemonSets names the CNIs recognised by their DaemonSet in kube-system.
var cniDaemonSets = map[string]string{
	"kindnet": "kindnet", "calico-node": "calico", "cilium": "cilium", "kube-flannel-ds": "flannel",
	"aws-node": "amazon-vpc-cni", "antrea-agent": "antrea", "weave-net": "weave", "kube-router": "kube-router",
	"offline-cni": "offline-cni (this project's ptp CNI)", "kube-router-netpol": "kube-router (NetworkPolicy only)",
}

// Environment describes the run: the suite build, the cluster and the
// mesh, as far as they can be read (a run whose provisioning failed still
// says what it knew). env may be nil.
func Environment(ctx context.Context, cfg *config.Config, env *Env, sh Shared, started time.Time) runinfo.Environment {
	e := runinfo.Environment{
		Suite: suiteInfo(sh.RunID, started, cfg),
		Cluster: runinfo.Cluster{
			Mode: string(cfg.ClusterMode), Name: sh.KindCluster, KubernetesVersion: sh.ServerVersion,
		},
		Mesh: runinfo.Mesh{
			Mode: string(cfg.MeshMode), ExpectedVersion: sh.IstioVersion, Namespace: sh.Mesh.Namespace,
			Revision: sh.Mesh.Revision, ImagePulls: sh.ImagePulls,
		},
		Warnings: sh.Warnings,
	}
	for _, name := range VerdictSettings {
		e.Settings = append(e.Settings, runinfo.Setting{Name: name, Value: cfg.Values[name], Source: cfg.Sources[name]})
	}
	if env == nil {
		return e
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	k := env.Kube
	var nodes corev1.NodeList
	if err := k.Res().List(ctx, &nodes); err == nil {
		for _, n := range nodes.Items {
			i := n.Status.NodeInfo
			e.Cluster.Nodes = append(e.Cluster.Nodes, runinfo.Node{Name: n.Name, OSImage: i.OSImage, KernelVersion: i.KernelVersion,
				ContainerRuntime: i.ContainerRuntimeVersion, KubeletVersion: i.KubeletVersion})
		}
	}
	var ds appsv1.DaemonSetList
	if err := k.Res().WithNamespace("kube-system").List(ctx, &ds); err == nil {
		var cnis []string
		for _, d := range ds.Items {
			if c, ok := cniDaemonSets[d.Name]; ok {
				cnis = append(cnis, c)
			}
		}
		sort.Strings(cnis)
		e.Cluster.CNI = strings.Join(cnis, ", ")
	}
	e.Mesh.Components = components(ctx, k, sh.Mesh)
	for _, c := range e.Mesh.Components {
		if c.Name == mesh.Istiod && c.Image != "" {
			e.Mesh.Version = mesh.ImageVersion(c.Image)
		}
	}
	return e
}

// components reads the image and its digest (from pod status) of istiod,
// ztunnel and istio-cni.
func components(ctx context.Context, k *kube.Kube, cp mesh.ControlPlane) []runinfo.Component {
	images, _ := mesh.ComponentImages(ctx, k, cp)
	selectors := map[string]string{mesh.Istiod: "app=istiod", mesh.Ztunnel: "app=ztunnel", mesh.CNI: "k8s-app=istio-cni-node"}
	var out []runinfo.Component
	for _, name := range []string{mesh.Istiod, mesh.Ztunnel, mesh.CNI} {
		c := runinfo.Component{Name: name, Image: images[name]}
		var pods corev1.PodList
		if err := k.Res().WithNamespace(cp.Namespace).List(ctx, &pods, resources.WithLabelSelector(selectors[name])); err == nil {
			for _, p := range pods.Items {
				c.Pods++
				if kube.PodReady(p) {
					c.Ready++
				}
				for _, cs := range p.Status.ContainerStatuses {
					if cs.ImageID != "" && c.ImageID == "" {
						c.ImageID = cs.ImageID
					}
				}
			}
		}
		if c.Image != "" || c.Pods > 0 {
			out = append(out, c)
		}
	}
	return out
}

// The suite's version and commit for a suite compiled away from its
// checkout (set in the in-cluster runner's image).
const (
	SuiteVersionEnv = "AMBIENT_E2E_SUITE_VERSION"
	SuiteCommitEnv  = "AMBIENT_E2E_SUITE_COMMIT"
)

// SuiteGit returns `git describe --tags --always --dirty` and the commit of
// the checkout at root ("" for each when git cannot tell).
func SuiteGit(root string) (version, commit string) {
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if d := git("describe", "--tags", "--always", "--dirty"); d != "" {
		return d, git("rev-parse", "HEAD")
	}
	return "", ""
}

// suiteInfo identifies the suite build: what the image says, else `git
// describe` of the checkout it runs from, else the module's build info.
func suiteInfo(runID string, started time.Time, cfg *config.Config) runinfo.Suite {
	s := runinfo.Suite{RunID: runID, Started: started, LabelFilter: cfg.LabelFilter, Procs: cfg.Procs, Version: "unknown",
		InCluster: os.Getenv(runinfo.InClusterEnv) == "1"}
	// A compiled suite away from its checkout (the in-cluster runner's
	// image) carries what git said when it was built.
	if v := os.Getenv(SuiteVersionEnv); v != "" {
		s.Version, s.Commit = v, os.Getenv(SuiteCommitEnv)
		s.Dirty = strings.HasSuffix(v, "-dirty")
		return s
	}
	root, err := image.ModuleRoot(".")
	if err == nil {
		if d, c := SuiteGit(root); d != "" {
			s.Version, s.Dirty, s.Commit = d, strings.HasSuffix(d, "-dirty"), c
			return s
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		s.Version = bi.Main.Version
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				s.Commit = kv.Value
			case "vcs.modified":
				s.Dirty = kv.Value == "true"
			}
		}
	}
	return s
}

// WriteEnvironment records e in REPORT_DIR.
func WriteEnvironment(cfg *config.Config, e runinfo.Environment) error {
	return runinfo.WriteEnvironment(ReportDir(cfg), e)
}

// ReportDir is REPORT_DIR as an absolute path; a relative one is relative
// to the module root, wherever the process runs (the suite runs in its
// package directory).
func ReportDir(cfg *config.Config) string { return absolute(cfg.ReportDir) }
