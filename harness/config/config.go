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

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ambient-e2e/ambient-e2e/harness/component"
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
	ComponentImages string        // COMPONENT_IMAGES: component=archive|docker:<image>,... loaded instead of the release's
	ZtunnelBinary   string        // ZTUNNEL_BINARY: a ztunnel binary packed into the image the chart names
	KeepCluster     bool          // KEEP_CLUSTER: keep a cluster this run created
	UninstallMesh   bool          // UNINSTALL_MESH: uninstall a mesh this run installed
	ReadyTimeout    time.Duration // READY_TIMEOUT: bound for pods/Deployments becoming ready
	EnrollTimeout   time.Duration // ENROLL_TIMEOUT: bound for the redirection annotation
	PolicyTimeout   time.Duration // POLICY_TIMEOUT: bound for a policy change to take effect
	SettleTimeout   time.Duration // SETTLE_TIMEOUT: bound for traffic checks where the mesh cannot converge
	WaypointTimeout time.Duration // WAYPOINT_TIMEOUT: bound for a waypoint to be Programmed and ready
	Istioctl        string        // ISTIOCTL: istioctl binary for preinstalled meshes (waypoint CLI spec)
	TrustDomain     string        // TRUST_DOMAIN: the mesh's SPIFFE trust domain
	IstioNamespace  string        // ISTIO_NAMESPACE: where istiod, ztunnel and istio-cni run
	IstioRevision   string        // ISTIO_REVISION: "" = discovered from istiod's istio.io/rev label
	ClusterDomain   string        // CLUSTER_DOMAIN: the cluster's DNS domain (Service FQDNs)
	RollbackBudget  string        // ROLLBACK_BUDGET: report | istio | strict
	InstallTimeout  time.Duration // INSTALL_TIMEOUT: bound for istioctl install
	RunID           string        // RUN_ID: label value on every object of this run
	SkipPreflight   bool          // SKIP_PREFLIGHT: skip host checks (not cluster checks)
	PullNodeImage   bool          // PULL_NODE_IMAGE: try docker pull when the node image is missing
	PullTimeout     time.Duration // PULL_TIMEOUT: bound for that pull
	ProgressEvery   time.Duration // PROGRESS_EVERY: interval of "still waiting" lines
	LatencyBudgets  string        // LATENCY_BUDGETS: budgets file; "" = the embedded default
	LatencyProfile  string        // LATENCY_PROFILE: budget profile of that file; "" = the file's default
	LoadPreset      string        // LOAD_PRESET: load shape of that file; "" = the file's default
	// LatencyCalibration is LATENCY_CALIBRATION: the calibration.json of a
	// make bench-latency run on this machine; "" judges every percentile.
	LatencyCalibration string
	ReportMode         string // REPORT_MODE: default | vendor
	Implementation     Implementation
	LabelFilter        string        // LABEL_FILTER: Ginkgo label filter
	Procs              int           // PROCS: parallel Ginkgo processes
	SuiteTimeout       time.Duration // SUITE_TIMEOUT: bound for the whole Ginkgo run
	GinkgoFlags        string        // GINKGO_FLAGS: extra Ginkgo flags
	BundleMaxBytes     int           // BUNDLE_MAX_BYTES: size bound of one failure bundle
	RequiredSysctls    map[string]int

	// Components are COMPONENT_IMAGES and ZTUNNEL_BINARY parsed: your own
	// builds, loaded instead of the release's images.
	Components []component.Source

	// ConfigFile is the file the settings were read from ("" = none);
	// Sources says per variable where its value came from and Values holds
	// the value text each variable had ("" = empty, the default applies).
	ConfigFile string
	Sources    map[string]string
	Values     map[string]string
}

// Implementation is who publishes a conformance report (REPORT_MODE=vendor
// requires every field).
type Implementation struct {
	Organization string // IMPLEMENTATION_ORGANIZATION
	Project      string // IMPLEMENTATION_PROJECT
	URL          string // IMPLEMENTATION_URL
	Version      string // IMPLEMENTATION_VERSION
	Contact      string // IMPLEMENTATION_CONTACT
}

// Kind is the type of a setting's value, checked in the config file.
type Kind string

// Kinds of settings.
const (
	KindString   Kind = "string"
	KindDuration Kind = "duration"
	KindBool     Kind = "bool"
	KindInt      Kind = "int"
)

// Variable is one setting: its environment variable, its key in the config
// file, its default and meaning.
type Variable struct {
	Name, Key, Default, Help string
	Kind                     Kind
}

// Variables documents each setting, for `ambient-e2e env`, the config file
// and the README. The config-file key is the variable in lowerCamelCase;
// IMPLEMENTATION_* are the fields of an `implementation:` block.
var Variables = []Variable{
	{"CLUSTER_MODE", "clusterMode", "kind", "kind: create or reuse a kind cluster; existing: use KUBECONFIG/KUBE_CONTEXT, create nothing", KindString},
	{"MESH_MODE", "meshMode", "install", "install: istioctl install the ambient profile; preinstalled: only verify a mesh that is already there", KindString},
	{"ISTIO_VERSION", "istioVersion", "table default", "Istio release: a minor (1.30), an exact patch (1.30.8) or dev (the development row: the pinned istio.io/istio module, the release-1.31 branch, built locally; needs ISTIOCTL); see make versions", KindString},
	{"K8S_VERSION", "k8sVersion", "newest supported by the Istio release", "Kubernetes minor of the kind node image (clusters/kind/node-images.yaml)", KindString},
	{"KIND_CLUSTER_NAME", "kindClusterName", "ambient-e2e", "kind cluster to create or reuse", KindString},
	{"KIND_NODE_IMAGE", "kindNodeImage", "pinned per K8S_VERSION", "kind node image; set it to use an image built by make node-image", KindString},
	{"KIND_API_SERVER_PORT", "kindApiServerPort", "0", "host port of the kind API server; 0 lets kind pick a free one", KindInt},
	{"KUBECONFIG", "kubeconfig", "~/.kube/config", "existing mode: kubeconfig to use", KindString},
	{"KUBE_CONTEXT", "kubeContext", "current context", "existing mode: context in KUBECONFIG", KindString},
	{"PROBE_IMAGE", "probeImage", "built locally", "probe image a cluster can pull; empty builds it and loads it into the kind nodes", KindString},
	{"REPORT_DIR", "reportDir", "_output/reports", "JUnit, JSON and conformance reports, failure bundles", KindString},
	{"CACHE_DIR", "cacheDir", "$XDG_CACHE_HOME/ambient-e2e", "downloaded istioctl releases and built images", KindString},
	{"WORK_DIR", "workDir", "_output/work", "per-run files (kubeconfig shared with parallel processes)", KindString},
	{"ISTIO_DOWNLOAD_BASE", "istioDownloadBase", "https://github.com/istio/istio/releases/download", "where istioctl releases are downloaded from", KindString},
	{"ISTIO_HUB", "istioHub", "docker.io/istio", "image hub istioctl installs from", KindString},
	{"COMPONENT_IMAGES", "componentImages", "", "your own builds instead of the release's images (install mode, kind): component=source,... with component pilot, install-cni, ztunnel or proxyv2 and source a docker-archive file or docker:<image> in the host's Docker; each is loaded into the nodes under the reference the install renders", KindString},
	{"ZTUNNEL_BINARY", "ztunnelBinary", "", "your own ztunnel build (install mode, kind): a Linux ztunnel binary, packed with the libraries it links against (from this host) into the image the ztunnel chart names", KindString},
	{"KEEP_CLUSTER", "keepCluster", "0", "1 keeps a kind cluster this run created (faster re-runs)", KindBool},
	{"UNINSTALL_MESH", "uninstallMesh", "0", "1 uninstalls the mesh this run installed when the suite ends", KindBool},
	{"READY_TIMEOUT", "readyTimeout", "3m", "bound for Deployments, DaemonSets and pods becoming ready", KindDuration},
	{"ENROLL_TIMEOUT", "enrollTimeout", "60s", "bound for ambient.istio.io/redirection to appear or disappear", KindDuration},
	{"TRUST_DOMAIN", "trustDomain", "cluster.local", "SPIFFE trust domain of workload identities (spiffe://<domain>/ns/<ns>/sa/<sa>), in the policies the suite applies and the evidence it expects", KindString},
	{"ISTIO_NAMESPACE", "istioNamespace", "istio-system", "namespace of istiod, ztunnel and istio-cni (and the mesh config's root namespace)", KindString},
	{"ISTIO_REVISION", "istioRevision", "discovered", "Istio revision to judge; empty reads it from istiod's istio.io/rev label (istiod-<rev>, ConfigMap istio-<rev>)", KindString},
	{"CLUSTER_DOMAIN", "clusterDomain", "cluster.local", "the cluster's DNS domain: Services are <svc>.<ns>.svc.<domain>", KindString},
	{"ROLLBACK_BUDGET", "rollbackBudget", "report", "disruption allowed while a namespace is un- and re-enrolled under load: report (measure only), istio (≥ 50% success, Istio's own threshold), strict (no failed request)", KindString},
	{"POLICY_TIMEOUT", "policyTimeout", "30s", "bound for a policy change to show in traffic (checks retry until then)", KindDuration},
	{"SETTLE_TIMEOUT", "settleTimeout", "5s", "bound for traffic checks in a namespace that never enrolled, at least one whole request plus 3s (no mesh path can converge there, so they do not wait POLICY_TIMEOUT)", KindDuration},
	{"WAYPOINT_TIMEOUT", "waypointTimeout", "2m", "bound for a waypoint Gateway to be Programmed and its pod ready (time spent pulling its image is bounded by PULL_TIMEOUT and reported apart)", KindDuration},
	{"ISTIOCTL", "istioctl", "downloaded in install mode", "istioctl of the installed release; install mode uses it instead of downloading; in preinstalled mode the istioctl waypoint spec skips without it", KindString},
	{"INSTALL_TIMEOUT", "installTimeout", "10m", "bound for istioctl install", KindDuration},
	{"RUN_ID", "runId", "random", "value of the ambient-e2e.io/run label on every object this run creates", KindString},
	{"SKIP_PREFLIGHT", "skipPreflight", "0", "1 skips host checks (Docker, inotify, ports)", KindBool},
	{"PULL_NODE_IMAGE", "pullNodeImage", "1", "0 never tries to docker pull a missing kind node image", KindBool},
	{"PULL_TIMEOUT", "pullTimeout", "5m", "bound for pulling one image (kind node image, mesh images, a waypoint's proxy)", KindDuration},
	{"PROGRESS_EVERY", "progressEvery", "10s", "interval of progress lines during long waits", KindDuration},
	{"LATENCY_BUDGETS", "latencyBudgets", "embedded", "latency and resource budgets file (harness/perf/budget/budgets.yaml is the default)", KindString},
	{"LATENCY_PROFILE", "latencyProfile", "the file's", "budget profile of the budgets file: seed (the article's promises) or istio (Istio's published figures)", KindString},
	{"LOAD_PRESET", "loadPreset", "the file's", "load shape of the budgets file: short (minutes) or lab (shaped like Istio's benchmark)", KindString},
	{"LATENCY_CALIBRATION", "latencyCalibration", "none", "calibration.json of make bench-latency on this machine: latency budgets at a percentile it did not calibrate (or at another load) cannot be judged", KindString},
	{"REPORT_MODE", "reportMode", "default", "default, or vendor: the implementation block is required and placeholders are refused", KindString},
	{"IMPLEMENTATION_ORGANIZATION", "implementation.organization", "", "conformance report: the organization publishing it", KindString},
	{"IMPLEMENTATION_PROJECT", "implementation.project", "", "conformance report: the Istio distribution or product", KindString},
	{"IMPLEMENTATION_URL", "implementation.url", "", "conformance report: the project's URL", KindString},
	{"IMPLEMENTATION_VERSION", "implementation.version", "", "conformance report: the version of the distribution tested", KindString},
	{"IMPLEMENTATION_CONTACT", "implementation.contact", "", "conformance report: who to ask (e-mail or handle)", KindString},
	{"LABEL_FILTER", "labelFilter", "(all)", "Ginkgo label filter, e.g. install, enroll && !disruptive", KindString},
	{"PROCS", "procs", "4", "parallel Ginkgo processes; provisioning still happens once", KindInt},
	{"SUITE_TIMEOUT", "suiteTimeout", "90m", "bound for the whole Ginkgo run", KindDuration},
	{"GINKGO_FLAGS", "ginkgoFlags", "", "extra Ginkgo flags, e.g. --no-color, --fail-fast", KindString},
	{"BUNDLE_MAX_BYTES", "bundleMaxBytes", "8388608", "size bound of one failure bundle (REPORT_DIR/bundles/<spec>)", KindInt},
}

// ConfigEnv names the config file in the environment (the --config flag
// sets it for the processes a run starts).
const ConfigEnv = "AMBIENT_E2E_CONFIG"

// DefaultIstioNamespace is where Istio's ambient profile installs.
const DefaultIstioNamespace = "istio-system"

// FromEnv reads the configuration: the file named by AMBIENT_E2E_CONFIG, if
// any, overridden by the process environment.
func FromEnv() (*Config, error) { return Load(os.Getenv(ConfigEnv), os.LookupEnv) }

// FromLookup reads the configuration through lookup, so tests need no real environment.
func FromLookup(lookup func(string) (string, bool)) (*Config, error) {
	values := map[string]string{}
	get := func(k, def string) string {
		v := def
		if got, ok := lookup(k); ok && strings.TrimSpace(got) != "" {
			v = strings.TrimSpace(got)
		}
		values[k] = v
		return v
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
		ClusterMode:        ClusterMode(get("CLUSTER_MODE", string(ClusterKind))),
		MeshMode:           MeshMode(get("MESH_MODE", string(MeshInstall))),
		IstioVersion:       get("ISTIO_VERSION", ""),
		K8sVersion:         strings.TrimPrefix(get("K8S_VERSION", ""), "v"),
		KindCluster:        get("KIND_CLUSTER_NAME", "ambient-e2e"),
		KindNodeImage:      get("KIND_NODE_IMAGE", ""),
		Kubeconfig:         kubeconfig,
		KubeContext:        get("KUBE_CONTEXT", ""),
		ProbeImage:         get("PROBE_IMAGE", ""),
		ReportDir:          get("REPORT_DIR", "_output/reports"),
		CacheDir:           get("CACHE_DIR", cacheDefault),
		WorkDir:            get("WORK_DIR", "_output/work"),
		DownloadBase:       get("ISTIO_DOWNLOAD_BASE", "https://github.com/istio/istio/releases/download"),
		IstioHub:           get("ISTIO_HUB", "docker.io/istio"),
		ComponentImages:    get("COMPONENT_IMAGES", ""),
		ZtunnelBinary:      get("ZTUNNEL_BINARY", ""),
		KeepCluster:        boolean("KEEP_CLUSTER", "0"),
		UninstallMesh:      boolean("UNINSTALL_MESH", "0"),
		ReadyTimeout:       dur("READY_TIMEOUT", "3m"),
		EnrollTimeout:      dur("ENROLL_TIMEOUT", "60s"),
		PolicyTimeout:      dur("POLICY_TIMEOUT", "30s"),
		SettleTimeout:      dur("SETTLE_TIMEOUT", "5s"),
		WaypointTimeout:    dur("WAYPOINT_TIMEOUT", "2m"),
		Istioctl:           get("ISTIOCTL", ""),
		TrustDomain:        get("TRUST_DOMAIN", "cluster.local"),
		IstioNamespace:     get("ISTIO_NAMESPACE", DefaultIstioNamespace),
		IstioRevision:      get("ISTIO_REVISION", ""),
		ClusterDomain:      strings.TrimSuffix(get("CLUSTER_DOMAIN", "cluster.local"), "."),
		RollbackBudget:     get("ROLLBACK_BUDGET", "report"),
		InstallTimeout:     dur("INSTALL_TIMEOUT", "10m"),
		RunID:              get("RUN_ID", ""),
		SkipPreflight:      boolean("SKIP_PREFLIGHT", "0"),
		PullNodeImage:      boolean("PULL_NODE_IMAGE", "1"),
		PullTimeout:        dur("PULL_TIMEOUT", "5m"),
		ProgressEvery:      dur("PROGRESS_EVERY", "10s"),
		LatencyBudgets:     get("LATENCY_BUDGETS", ""),
		LatencyProfile:     get("LATENCY_PROFILE", ""),
		LoadPreset:         get("LOAD_PRESET", ""),
		LatencyCalibration: get("LATENCY_CALIBRATION", ""),
		ReportMode:         get("REPORT_MODE", "default"),
		Implementation: Implementation{
			Organization: get("IMPLEMENTATION_ORGANIZATION", ""),
			Project:      get("IMPLEMENTATION_PROJECT", ""),
			URL:          get("IMPLEMENTATION_URL", ""),
			Version:      get("IMPLEMENTATION_VERSION", ""),
			Contact:      get("IMPLEMENTATION_CONTACT", ""),
		},
		LabelFilter:  get("LABEL_FILTER", ""),
		SuiteTimeout: dur("SUITE_TIMEOUT", "90m"),
		GinkgoFlags:  get("GINKGO_FLAGS", ""),
		RequiredSysctls: map[string]int{
			// The Istio-on-kind gotcha: istio-cni crashloops with "too many open files".
			"fs/inotify/max_user_watches":   524288,
			"fs/inotify/max_user_instances": 512,
		},
	}
	c.Values = values
	integer := func(k, def, want string, ok func(int) bool) int {
		n, err := strconv.Atoi(get(k, def))
		if err != nil || !ok(n) {
			errs = append(errs, fmt.Errorf("%s=%q: want %s", k, get(k, def), want))
		}
		return n
	}
	c.KindAPIPort = integer("KIND_API_SERVER_PORT", "0", "a port number, or 0 for any", func(n int) bool { return n >= 0 && n <= 65535 })
	c.Procs = integer("PROCS", "4", "a number of processes from 1 to 32", func(n int) bool { return n >= 1 && n <= 32 })
	c.BundleMaxBytes = integer("BUNDLE_MAX_BYTES", "8388608", "a size in bytes of at least 65536", func(n int) bool { return n >= 64<<10 })
	var err error
	if c.Components, err = component.Parse(c.ComponentImages, c.ZtunnelBinary); err != nil {
		errs = append(errs, err)
	}
	if len(c.Components) > 0 && (c.MeshMode != MeshInstall || c.ClusterMode != ClusterKind) {
		errs = append(errs, fmt.Errorf("COMPONENT_IMAGES and ZTUNNEL_BINARY load your builds into the nodes of a kind cluster the suite installs onto (MESH_MODE=install, CLUSTER_MODE=kind); for another cluster push them to a registry it pulls from and set ISTIO_HUB, or install them yourself and use MESH_MODE=preinstalled"))
	}
	switch c.ReportMode {
	case "default", "vendor":
	default:
		errs = append(errs, fmt.Errorf("REPORT_MODE=%q: want default or vendor", c.ReportMode))
	}
	if c.IstioNamespace != "" && len(validation.IsDNS1123Label(c.IstioNamespace)) > 0 {
		errs = append(errs, fmt.Errorf("ISTIO_NAMESPACE=%q: not a namespace name", c.IstioNamespace))
	}
	if c.IstioRevision != "" && !validLabelValue(c.IstioRevision) {
		errs = append(errs, fmt.Errorf("ISTIO_REVISION=%q: not a revision name (a label value)", c.IstioRevision))
	}
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
