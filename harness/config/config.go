// Package config reads the suite's settings from the environment, the one
// place where every knob a user can turn is named, defaulted and validated.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ClusterMode says where the cluster comes from.
type ClusterMode string

// MeshMode says whether the suite installs Istio or only verifies it.
type MeshMode string

const (
	// ClusterKind creates a kind cluster, or reuses one of the same name.
	ClusterKind ClusterMode = "kind"
	// ClusterExisting uses KUBECONFIG/KUBE_CONTEXT and never creates a cluster.
	ClusterExisting ClusterMode = "existing"

	// MeshInstall installs Istio's ambient profile with istioctl.
	MeshInstall MeshMode = "install"
	// MeshPreinstalled only verifies a mesh someone else installed (vendors).
	MeshPreinstalled MeshMode = "preinstalled"
)

// Config is every setting of one suite run. Each field names its variable.
type Config struct {
	ClusterMode     ClusterMode   // CLUSTER_MODE: kind | existing
	MeshMode        MeshMode      // MESH_MODE: install | preinstalled
	IstioVersion    string        // ISTIO_VERSION: "1.30" or "1.30.8"; empty = table default
	K8sVersion      string        // K8S_VERSION: Kubernetes minor for the kind node image
	KindCluster     string        // KIND_CLUSTER_NAME
	KindNodeImage   string        // KIND_NODE_IMAGE: overrides the pinned image
	KindAPIPort     int           // KIND_API_SERVER_PORT: 0 = kind picks a free one
	Kubeconfig      string        // KUBECONFIG (existing mode), first path of the list
	KubeContext     string        // KUBE_CONTEXT (existing mode)
	ProbeImage      string        // PROBE_IMAGE: pullable probe image; empty = build and load locally
	ReportDir       string        // REPORT_DIR
	CacheDir        string        // CACHE_DIR: istioctl downloads, built images
	WorkDir         string        // WORK_DIR: kubeconfig and other per-run files
	DownloadBase    string        // ISTIO_DOWNLOAD_BASE
	IstioHub        string        // ISTIO_HUB: image hub passed to istioctl
	KeepCluster     bool          // KEEP_CLUSTER: keep a cluster this run created
	UninstallMesh   bool          // UNINSTALL_MESH: uninstall a mesh this run installed
	ReadyTimeout    time.Duration // READY_TIMEOUT: bound for pods/Deployments becoming ready
	EnrollTimeout   time.Duration // ENROLL_TIMEOUT: bound for the redirection annotation
	PolicyTimeout   time.Duration // POLICY_TIMEOUT: bound for a policy change to take effect
	WaypointTimeout time.Duration // WAYPOINT_TIMEOUT: bound for a waypoint to be Programmed and ready
	Istioctl        string        // ISTIOCTL: istioctl binary for preinstalled meshes (waypoint CLI spec)
	TrustDomain     string        // TRUST_DOMAIN: the mesh's SPIFFE trust domain
	RollbackBudget  string        // ROLLBACK_BUDGET: report | istio | strict
	InstallTimeout  time.Duration // INSTALL_TIMEOUT: bound for istioctl install
	RunID           string        // RUN_ID: label value on every object of this run
	SkipPreflight   bool          // SKIP_PREFLIGHT: skip host checks (not cluster checks)
	PullNodeImage   bool          // PULL_NODE_IMAGE: try docker pull when the node image is missing
	PullTimeout     time.Duration // PULL_TIMEOUT: bound for that pull
	ProgressEvery   time.Duration // PROGRESS_EVERY: interval of "still waiting" lines
	RequiredSysctls map[string]int
}

// Variables documents each environment variable, for `ambient-e2e env` and the README.
var Variables = []struct{ Name, Default, Help string }{
	{"CLUSTER_MODE", "kind", "kind: create or reuse a kind cluster; existing: use KUBECONFIG/KUBE_CONTEXT, create nothing"},
	{"MESH_MODE", "install", "install: istioctl install the ambient profile; preinstalled: only verify a mesh that is already there"},
	{"ISTIO_VERSION", "table default", "Istio release: a minor (1.30) or an exact patch (1.30.8); see harness/versions/versions.yaml"},
	{"K8S_VERSION", "newest supported by the Istio release", "Kubernetes minor of the kind node image (clusters/kind/node-images.yaml)"},
	{"KIND_CLUSTER_NAME", "ambient-e2e", "kind cluster to create or reuse"},
	{"KIND_NODE_IMAGE", "pinned per K8S_VERSION", "kind node image; set it to use an image built by make node-image"},
	{"KIND_API_SERVER_PORT", "0", "host port of the kind API server; 0 lets kind pick a free one"},
	{"KUBECONFIG", "~/.kube/config", "existing mode: kubeconfig to use"},
	{"KUBE_CONTEXT", "current context", "existing mode: context in KUBECONFIG"},
	{"PROBE_IMAGE", "built locally", "probe image a cluster can pull; empty builds it and loads it into the kind nodes"},
	{"REPORT_DIR", "_output/reports", "JUnit, JSON and conformance reports"},
	{"CACHE_DIR", "$XDG_CACHE_HOME/ambient-e2e", "downloaded istioctl releases and built images"},
	{"WORK_DIR", "_output/work", "per-run files (kubeconfig shared with parallel processes)"},
	{"ISTIO_DOWNLOAD_BASE", "https://github.com/istio/istio/releases/download", "where istioctl releases are downloaded from"},
	{"ISTIO_HUB", "docker.io/istio", "image hub istioctl installs from"},
	{"KEEP_CLUSTER", "0", "1 keeps a kind cluster this run created (faster re-runs)"},
	{"UNINSTALL_MESH", "0", "1 uninstalls the mesh this run installed when the suite ends"},
	{"READY_TIMEOUT", "3m", "bound for Deployments, DaemonSets and pods becoming ready"},
	{"ENROLL_TIMEOUT", "60s", "bound for ambient.istio.io/redirection to appear or disappear"},
	{"TRUST_DOMAIN", "cluster.local", "SPIFFE trust domain of workload identities (spiffe://<domain>/ns/<ns>/sa/<sa>)"},
	{"ROLLBACK_BUDGET", "report", "disruption allowed while a namespace is un- and re-enrolled under load: report (measure only), istio (≥ 50% success, Istio's own threshold), strict (no failed request)"},
	{"POLICY_TIMEOUT", "30s", "bound for a policy change to show in traffic (checks retry until then)"},
	{"WAYPOINT_TIMEOUT", "2m", "bound for a waypoint Gateway to be Programmed and its pod ready"},
	{"ISTIOCTL", "downloaded in install mode", "istioctl of the installed release; in preinstalled mode the istioctl waypoint spec skips without it"},
	{"INSTALL_TIMEOUT", "10m", "bound for istioctl install"},
	{"RUN_ID", "random", "value of the ambient-e2e.io/run label on every object this run creates"},
	{"SKIP_PREFLIGHT", "0", "1 skips host checks (Docker, inotify, ports)"},
	{"PULL_NODE_IMAGE", "1", "0 never tries to docker pull a missing kind node image"},
	{"PULL_TIMEOUT", "5m", "bound for pulling a missing kind node image"},
	{"PROGRESS_EVERY", "10s", "interval of progress lines during long waits"},
}

// FromEnv reads the configuration from the process environment.
func FromEnv() (*Config, error) { return FromLookup(os.LookupEnv) }

// FromLookup reads the configuration through lookup, so tests need no real environment.
func FromLookup(lookup func(string) (string, bool)) (*Config, error) {
	get := func(k, def string) string {
		if v, ok := lookup(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var errs []error
	dur := func(k, def string) time.Duration {
		d, err := time.ParseDuration(get(k, def))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 90s or 5m", k, get(k, def)))
		}
		return d
	}
	boolean := func(k, def string) bool {
		b, err := strconv.ParseBool(get(k, def))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want 0 or 1", k, get(k, def)))
		}
		return b
	}
	home, _ := os.UserHomeDir()
	cacheDefault := filepath.Join(home, ".cache", "ambient-e2e")
	if x := get("XDG_CACHE_HOME", ""); x != "" {
		cacheDefault = filepath.Join(x, "ambient-e2e")
	}
	kubeconfig := get("KUBECONFIG", filepath.Join(home, ".kube", "config"))
	if i := strings.IndexRune(kubeconfig, os.PathListSeparator); i >= 0 {
		kubeconfig = kubeconfig[:i]
	}
	c := &Config{
		ClusterMode:     ClusterMode(get("CLUSTER_MODE", string(ClusterKind))),
		MeshMode:        MeshMode(get("MESH_MODE", string(MeshInstall))),
		IstioVersion:    get("ISTIO_VERSION", ""),
		K8sVersion:      strings.TrimPrefix(get("K8S_VERSION", ""), "v"),
		KindCluster:     get("KIND_CLUSTER_NAME", "ambient-e2e"),
		KindNodeImage:   get("KIND_NODE_IMAGE", ""),
		Kubeconfig:      kubeconfig,
		KubeContext:     get("KUBE_CONTEXT", ""),
		ProbeImage:      get("PROBE_IMAGE", ""),
		ReportDir:       get("REPORT_DIR", "_output/reports"),
		CacheDir:        get("CACHE_DIR", cacheDefault),
		WorkDir:         get("WORK_DIR", "_output/work"),
		DownloadBase:    get("ISTIO_DOWNLOAD_BASE", "https://github.com/istio/istio/releases/download"),
		IstioHub:        get("ISTIO_HUB", "docker.io/istio"),
		KeepCluster:     boolean("KEEP_CLUSTER", "0"),
		UninstallMesh:   boolean("UNINSTALL_MESH", "0"),
		ReadyTimeout:    dur("READY_TIMEOUT", "3m"),
		EnrollTimeout:   dur("ENROLL_TIMEOUT", "60s"),
		PolicyTimeout:   dur("POLICY_TIMEOUT", "30s"),
		WaypointTimeout: dur("WAYPOINT_TIMEOUT", "2m"),
		Istioctl:        get("ISTIOCTL", ""),
		TrustDomain:     get("TRUST_DOMAIN", "cluster.local"),
		RollbackBudget:  get("ROLLBACK_BUDGET", "report"),
		InstallTimeout:  dur("INSTALL_TIMEOUT", "10m"),
		RunID:           get("RUN_ID", ""),
		SkipPreflight:   boolean("SKIP_PREFLIGHT", "0"),
		PullNodeImage:   boolean("PULL_NODE_IMAGE", "1"),
		PullTimeout:     dur("PULL_TIMEOUT", "5m"),
		ProgressEvery:   dur("PROGRESS_EVERY", "10s"),
		RequiredSysctls: map[string]int{
			// The Istio-on-kind gotcha: istio-cni crashloops with "too many open files".
			"fs/inotify/max_user_watches":   524288,
			"fs/inotify/max_user_instances": 512,
		},
	}
	port, err := strconv.Atoi(get("KIND_API_SERVER_PORT", "0"))
	if err != nil || port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("KIND_API_SERVER_PORT=%q: want a port number, or 0 for any", get("KIND_API_SERVER_PORT", "0")))
	}
	c.KindAPIPort = port
	switch c.ClusterMode {
	case ClusterKind, ClusterExisting:
	default:
		errs = append(errs, fmt.Errorf("CLUSTER_MODE=%q: want %q or %q", c.ClusterMode, ClusterKind, ClusterExisting))
	}
	switch c.MeshMode {
	case MeshInstall, MeshPreinstalled:
	default:
		errs = append(errs, fmt.Errorf("MESH_MODE=%q: want %q or %q", c.MeshMode, MeshInstall, MeshPreinstalled))
	}
	switch c.RollbackBudget {
	case "report", "istio", "strict":
	default:
		errs = append(errs, fmt.Errorf("ROLLBACK_BUDGET=%q: want report, istio or strict", c.RollbackBudget))
	}
	if c.RunID != "" && !validLabelValue(c.RunID) {
		errs = append(errs, fmt.Errorf("RUN_ID=%q: must be a valid label value (letters, digits, '-', '_', '.', at most 63)", c.RunID))
	}
	return c, errors.Join(errs...)
}

// NeedsDocker reports whether this run drives Docker (kind mode).
func (c *Config) NeedsDocker() bool { return c.ClusterMode == ClusterKind }

// Summary renders the settings that matter in one block, for the suite's first lines.
func (c *Config) Summary() string {
	rows := map[string]string{
		"cluster":       string(c.ClusterMode),
		"mesh":          string(c.MeshMode),
		"istio version": c.IstioVersion,
		"run id":        c.RunID,
		"report dir":    c.ReportDir,
	}
	if c.ClusterMode == ClusterKind {
		rows["kind cluster"] = c.KindCluster
	} else {
		rows["kubeconfig"] = c.Kubeconfig + " " + c.KubeContext
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-14s %s\n", k+":", rows[k])
	}
	return b.String()
}

func validLabelValue(v string) bool {
	if len(v) > 63 {
		return false
	}
	for i, r := range v {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || i == len(v)-1 || !strings.ContainsRune("-_.", r)) {
			return false
		}
	}
	return true
}
