// Package setup provisions a suite run once (host checks, cluster, probe
// image, mesh) and hands every parallel Ginkgo process the same view of it.
// It is the only package that knows the order of those steps.
package setup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/clusters"
	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/component"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/istioctl"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/perf/budget"
	"github.com/ambient-e2e/ambient-e2e/harness/preflight"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/versions"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
	"github.com/ambient-e2e/ambient-e2e/harness/ztunnel"
)

// Shared is what the first Ginkgo process tells the others.
type Shared struct {
	RunID          string
	Kubeconfig     string
	Context        string
	KindCluster    string // empty unless CLUSTER_MODE=kind
	ClusterCreated bool
	MeshInstalled  bool
	Istioctl       string // path; empty in preinstalled mode
	IstioVersion   string // exact release the run expects
	ProbeImage     string
	ServerVersion  string
	Mesh           mesh.ControlPlane // where istiod runs and its revision (discovered unless set)
	ImagePulls     []runinfo.ImagePull
	Warnings       []string
}

// Encode serialises Shared for SynchronizedBeforeSuite.
func (s Shared) Encode() []byte { b, _ := json.Marshal(s); return b }

// Decode reads what Encode wrote.
func Decode(b []byte) (Shared, error) {
	var s Shared
	err := json.Unmarshal(b, &s)
	return s, err
}

// Env is one process's view of the run: configuration, the chosen release,
// and a cluster client.
type Env struct {
	Config  *config.Config
	Release versions.Release
	Shared  Shared
	Kube    *kube.Kube
	Cluster *cluster.Cluster
}

// Resolve validates the configuration against the version table and the
// node-image table. It touches nothing, so bad input fails in milliseconds.
func Resolve(cfg *config.Config) (versions.Release, string, error) {
	table, err := versions.Load()
	if err != nil {
		return versions.Release{}, "", err
	}
	rel := table.Default()
	if cfg.IstioVersion != "" {
		if rel, err = table.Lookup(cfg.IstioVersion); err != nil {
			return versions.Release{}, "", err
		}
	}
	if cfg.ClusterMode != config.ClusterKind {
		return rel, "", nil
	}
	if cfg.KindNodeImage != "" {
		return rel, cfg.KindNodeImage, nil
	}
	minor := cfg.K8sVersion
	if minor == "" {
		minor, err = newestPinnedFor(rel)
		if err != nil {
			return versions.Release{}, "", err
		}
	}
	if i := strings.Count(minor, "."); i > 1 { // 1.34.4 → 1.34
		minor = minor[:strings.LastIndexByte(minor, '.')]
	}
	img, err := clusters.NodeImageFor(minor)
	return rel, img, err
}

func newestPinnedFor(rel versions.Release) (string, error) {
	kr, err := rel.KubernetesRange()
	if err != nil {
		return "", err
	}
	imgs, err := clusters.NodeImages()
	if err != nil {
		return "", err
	}
	for i := len(imgs) - 1; i >= 0; i-- {
		if rel.SupportsKubernetes(imgs[i].Kubernetes) {
			return imgs[i].Kubernetes, nil
		}
	}
	return "", fmt.Errorf("no pinned kind node image is in Istio %s's Kubernetes range %s; set K8S_VERSION or KIND_NODE_IMAGE", rel.Istio, kr)
}

// Describe says in one line which release a run judges.
func Describe(rel versions.Release) string {
	gw, kr := rel.GatewayAPI, rel.Kubernetes.String()
	if gw == "" {
		gw = "unknown"
	}
	if rel.Kubernetes.Min == "" {
		kr = "unknown"
	}
	s := fmt.Sprintf("Istio %s (Gateway API %s, Kubernetes %s)", rel.Istio, gw, kr)
	switch {
	case rel.Development:
		s += ": a development build, not a release"
	case !rel.Confirmed:
		s += ": unconfirmed (" + rel.Evidence + ")"
	}
	return s
}

// CheckBudgets reads the latency and resource budgets file the perf specs
// will use (LATENCY_BUDGETS, LATENCY_PROFILE, LOAD_PRESET), so a file with
// an unknown key, a missing or negative budget or a load the cluster cannot
// carry fails in milliseconds, before any cluster work.
func CheckBudgets(cfg *config.Config, log func(string)) error {
	sel, err := budget.Select(cfg.LatencyBudgets, cfg.LatencyProfile, cfg.LoadPreset)
	if err != nil {
		return err
	}
	log(fmt.Sprintf("budgets: profile %s, load %s (%s)", sel.ProfileName, sel.LoadName, sel.Source))
	return nil
}

// CheckRelease checks, in seconds and before any cluster work, what an
// install of rel needs: the Gateway API version to install, and for a
// release Istio's own sources do not confirm, that its istioctl download
// exists at all. A given ISTIOCTL (a local build) needs no download.
//
// An end-of-life release is judged all the same, with a warning. In install
// mode the development row needs a local build (ISTIOCTL), and the ambient
// profile installs into istio-system, so ISTIO_NAMESPACE must be that.
func CheckRelease(ctx context.Context, cfg *config.Config, rel versions.Release, log func(string)) error {
	if rel.Status(time.Now()) == versions.StatusEndOfLife {
		log(fmt.Sprintf("warning: Istio %s reached end of life on %s: the report judges it, but Istio no longer supports it (make versions)",
			rel.Minor, rel.EOL.Format("2006-01-02")))
	}
	if cfg.MeshMode != config.MeshInstall {
		return nil
	}
	if cfg.IstioNamespace != config.DefaultIstioNamespace {
		return fmt.Errorf("MESH_MODE=install installs Istio into %s, but ISTIO_NAMESPACE=%s: that setting is for a preinstalled mesh (MESH_MODE=preinstalled)",
			config.DefaultIstioNamespace, cfg.IstioNamespace)
	}
	if _, err := rel.GatewayAPIVersion(); err != nil {
		return err
	}
	if rel.Development && cfg.Istioctl == "" {
		return fmt.Errorf("ISTIO_VERSION=%s is the development build (%s %s): there is no istioctl release to download; build it with clusters/offline/istio-build, which prints ISTIOCTL= and ISTIO_HUB= to set",
			cfg.IstioVersion, rel.Module, rel.ModuleVersion)
	}
	if cfg.Istioctl != "" || rel.Confirmed || rel.Development {
		return nil
	}
	log(fmt.Sprintf("Istio %s is unconfirmed: checking that its istioctl release exists (bounded by %s)", rel.Istio, istioctl.DefaultCheckTimeout))
	return istioctl.CheckPublished(ctx, istioctl.Options{Version: rel.Istio, BaseURL: cfg.DownloadBase},
		istioctl.CheckOptions{Timeout: istioctl.DefaultCheckTimeout, Unconfirmed: rel.Evidence})
}

// Preflight runs the host checks for cfg and nodeImage.
func Preflight(ctx context.Context, cfg *config.Config, nodeImage string, log func(string)) error {
	var checks []preflight.Check
	if cfg.NeedsDocker() {
		checks = append(checks, preflight.Docker(10*time.Second))
	}
	if cfg.ClusterMode == config.ClusterKind {
		checks = append(checks,
			preflight.Sysctls("/proc/sys", cfg.RequiredSysctls),
			preflight.FreePorts(map[string]int{"kind API server (KIND_API_SERVER_PORT)": cfg.KindAPIPort}))
	}
	if cfg.SkipPreflight {
		log("host checks skipped (SKIP_PREFLIGHT=1)")
		checks = nil
	}
	// Your own builds are checked even then: a wrong file fails in seconds,
	// not after a cluster and an install.
	for _, src := range cfg.Components {
		checks = append(checks, preflight.Check{Name: "your " + string(src.Component) + " build (" + src.String() + ")",
			Run: func(ctx context.Context) error { return src.Check(ctx, runtime.GOARCH) }})
	}
	if err := preflight.Run(ctx, checks, log); err != nil {
		return err
	}
	// The node image check needs Docker, so it runs after Docker passed.
	if cfg.ClusterMode == config.ClusterKind && !cfg.SkipPreflight {
		if existing, _ := kindClusterExists(cfg.KindCluster); existing {
			return nil // a reused cluster needs no image
		}
		hint := "Build an offline node image with `make node-image` and pass it as KIND_NODE_IMAGE, or pick another K8S_VERSION."
		return preflight.Run(ctx, []preflight.Check{preflight.Image(nodeImage, cfg.PullNodeImage, cfg.PullTimeout, hint)}, log)
	}
	return nil
}

// Provision prepares the run: checks, cluster, probe image, mesh. It is
// called once, by the first Ginkgo process.
func Provision(ctx context.Context, cfg *config.Config, out io.Writer) (Shared, error) {
	log := func(s string) { fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), s) }
	wait.SetDefault(wait.Waiter{Out: out, Every: cfg.ProgressEvery})
	rel, nodeImage, err := Resolve(cfg)
	if err != nil {
		return Shared{}, err
	}
	sh := Shared{RunID: cfg.RunID, IstioVersion: rel.Istio, Mesh: mesh.ControlPlane{Namespace: cfg.IstioNamespace, Revision: cfg.IstioRevision}}
	if sh.RunID == "" {
		sh.RunID = NewRunID()
	}
	if cfg.MeshMode == config.MeshPreinstalled && cfg.IstioVersion == "" {
		sh.IstioVersion = "" // nothing to compare the running version with
	}
	shown := *cfg
	shown.RunID, shown.IstioVersion = sh.RunID, sh.IstioVersion
	if shown.IstioVersion == "" {
		shown.IstioVersion = "(not set: the version spec will skip)"
	}
	log("ambient-e2e run " + sh.RunID + "\n" + shown.Summary())
	log("host checks")
	if err := CheckBudgets(cfg, log); err != nil {
		return sh, err
	}
	if err := CheckRelease(ctx, cfg, rel, log); err != nil {
		return sh, err
	}
	if err := Preflight(ctx, cfg, nodeImage, log); err != nil {
		return sh, err
	}

	var cl *cluster.Cluster
	switch cfg.ClusterMode {
	case config.ClusterKind:
		cl, err = cluster.EnsureKind(ctx, cluster.KindOptions{
			Name: cfg.KindCluster, NodeImage: nodeImage, Config: clusters.KindConfig,
			APIServerPort: cfg.KindAPIPort, WorkDir: absolute(cfg.WorkDir), WaitForReady: cfg.ReadyTimeout,
		}, log)
	default:
		cl, err = cluster.Existing(cfg.Kubeconfig, cfg.KubeContext)
	}
	if err != nil {
		return sh, err
	}
	sh.Kubeconfig, sh.Context, sh.ClusterCreated = cl.Kubeconfig, cl.Context, cl.Created
	if cfg.ClusterMode == config.ClusterKind {
		sh.KindCluster = cl.Name
	}
	if sh.ServerVersion, err = cl.Reachable(ctx, 15*time.Second); err != nil {
		return sh, err
	}
	log("cluster reachable, Kubernetes " + sh.ServerVersion)
	if minor := minorOf(sh.ServerVersion); minor != "" && !rel.SupportsKubernetes(minor) {
		w := fmt.Sprintf("Kubernetes %s is outside Istio %s's supported range %s", minor, rel.Minor, rel.Kubernetes)
		sh.Warnings = append(sh.Warnings, w)
		log("warning: " + w)
	}

	if sh.ProbeImage, err = probeImage(ctx, cfg, cl, log); err != nil {
		return sh, err
	}
	env, err := Attach(cfg, sh)
	if err != nil {
		return sh, err
	}
	if cfg.MeshMode == config.MeshInstall {
		if err := installMesh(ctx, cfg, env, &sh, log, out); err != nil {
			return sh, err
		}
	} else {
		log("MESH_MODE=preinstalled: the suite verifies the mesh and installs nothing")
	}
	if sh.Mesh.Revision == "" {
		rev, err := mesh.DiscoverRevision(ctx, env.Kube, sh.Mesh.Namespace)
		if err != nil {
			return sh, err
		}
		if rev != "" {
			log(fmt.Sprintf("Istio revision %q (istiod's %s label; ISTIO_REVISION overrides)", rev, mesh.RevisionLabel))
		}
		sh.Mesh.Revision = rev
	}
	return sh, nil
}

func installMesh(ctx context.Context, cfg *config.Config, env *Env, sh *Shared, log func(string), out io.Writer) error {
	path := cfg.Istioctl
	if path == "" {
		var err error
		path, err = istioctl.Ensure(ctx, istioctl.Options{
			Version: env.Release.Istio, CacheDir: filepath.Join(cfg.CacheDir, "istioctl"), BaseURL: cfg.DownloadBase, Progress: log,
		})
		if err != nil {
			return err
		}
	} else {
		log("using ISTIOCTL " + path + " (not downloaded)")
	}
	if err := istioctl.Verify(ctx, path, env.Release.Istio); err != nil {
		return err
	}
	sh.Istioctl = path
	gw, err := env.Release.GatewayAPIVersion()
	if err != nil {
		return err
	}
	if err := mesh.EnsureGatewayAPI(ctx, env.Kube, gw, log); err != nil {
		return err
	}
	opts := mesh.InstallOptions{Version: env.Release.Istio, Hub: cfg.IstioHub, ReadinessTimeout: cfg.ReadyTimeout}
	if env.Cluster.IsKind() {
		// Every image once on the host and into all nodes now, so no spec's
		// bound runs while a node pulls (docs/review-findings.md #6).
		images, err := mesh.ReleaseImages(ctx, path, absolute(cfg.WorkDir), opts, time.Minute)
		if err != nil {
			return err
		}
		given, err := prepareGiven(ctx, cfg, env.Release.Istio, images, log)
		if err != nil {
			return err
		}
		for _, img := range images {
			g, yours := given[img]
			var p runinfo.ImagePull
			var loadErr error
			if yours {
				p, loadErr = loadGiven(ctx, env, sh.Mesh.Namespace, g, log)
			} else {
				p = env.Cluster.PullAndLoad(ctx, img, absolute(cfg.WorkDir), cfg.PullTimeout, log)
			}
			log(fmt.Sprintf("image %s: %s in %.1fs", img, p.Outcome, p.Seconds))
			sh.ImagePulls = append(sh.ImagePulls, p)
			// A release's image that fails to load is an outcome (the nodes
			// may pull it themselves); yours cannot come from anywhere else.
			if loadErr != nil {
				return fmt.Errorf("your image for %s (%s) did not load into the nodes: %w", g.Component, g.From, loadErr)
			}
		}
	}
	log(fmt.Sprintf("istioctl install --set profile=ambient (Istio %s, hub %s); bounded by %s", env.Release.Istio, cfg.IstioHub, cfg.InstallTimeout))
	if err := mesh.Install(ctx, path, mesh.TargetOf(env.Kube), absolute(cfg.WorkDir), opts, cfg.InstallTimeout, out); err != nil {
		// Say why a component is not ready: istioctl only says it is not.
		if hint := env.Kube.PodHints(context.WithoutCancel(ctx), sh.Mesh.Namespace); hint != "" {
			return fmt.Errorf("%w; pods not ready:%s", err, hint)
		}
		return err
	}
	sh.MeshInstalled = true
	if err := mesh.IstiodReady(ctx, env.Kube, sh.Mesh, cfg.ReadyTimeout); err != nil {
		return err
	}
	for _, ds := range []string{mesh.Ztunnel, mesh.CNI} {
		if _, err := mesh.DaemonSetOnEveryNode(ctx, env.Kube, sh.Mesh.Namespace, ds, cfg.ReadyTimeout); err != nil {
			return err
		}
	}
	return nil
}

// prepareGiven writes each image the user gave (COMPONENT_IMAGES,
// ZTUNNEL_BINARY) as an archive tagged with the reference the install
// renders for its component, keyed by that reference.
func prepareGiven(ctx context.Context, cfg *config.Config, version string, images []string, log func(string)) (map[string]component.Prepared, error) {
	given := map[string]component.Prepared{}
	for _, src := range cfg.Components {
		ref, err := component.ChartRef(images, src.Component)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		log(fmt.Sprintf("your %s image from %s, as %s", src.Component, src, ref))
		p, err := component.Prepare(ctx, src, ref, filepath.Join(cfg.CacheDir, "components"), runtime.GOARCH, version)
		if err != nil {
			return nil, err
		}
		given[ref] = p
	}
	return given, nil
}

// loadGiven loads a given image into every node that lacks it. Mesh pods
// that run its reference and cannot have the new image otherwise are
// deleted, so their controllers start them again on it: on a node where
// another image was replaced (istioctl install leaves an unchanged
// DaemonSet's pods alone), and pods waiting in ErrImagePull or
// ImagePullBackOff (the kubelet would retry only after its back-off).
func loadGiven(ctx context.Context, env *Env, namespace string, g component.Prepared, log func(string)) (runinfo.ImagePull, error) {
	start := time.Now()
	p := runinfo.ImagePull{Image: g.Ref, Given: g.From, ImageID: g.ID}
	replaced, err := env.Cluster.LoadImage(g.Archive, g.Ref, g.ID, log)
	if err != nil {
		p.Outcome, p.Seconds = "failed: "+err.Error(), time.Since(start).Seconds()
		return p, err
	}
	p.Outcome = "given"
	pods, err := env.Kube.Pods(ctx, namespace, "")
	if err != nil {
		log("warning: listing the pods that run " + g.Ref + ": " + err.Error())
	}
	for _, pod := range pods {
		if why := staleFor(pod, g.Ref, replaced); why != "" {
			log(fmt.Sprintf("restarting pod %s/%s on your %s image: %s", namespace, pod.Name, g.Component, why))
			if err := env.Kube.Res().Delete(ctx, &pod); err != nil {
				log("warning: deleting pod " + pod.Name + ": " + err.Error())
			}
		}
	}
	p.Seconds = time.Since(start).Seconds()
	return p, nil
}

// staleFor says why pod cannot be running image ref as just loaded ("" when
// it can): its node had another image under ref, or it waits to pull ref.
func staleFor(pod corev1.Pod, ref string, replacedOn []string) string {
	uses := false
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		uses = uses || c.Image == ref
	}
	if !uses {
		return ""
	}
	if slices.Contains(replacedOn, pod.Spec.NodeName) {
		return "its node " + pod.Spec.NodeName + " held another image as " + ref
	}
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && cs.Image == ref && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
			return "it waits in " + w.Reason
		}
	}
	return ""
}

func probeImage(ctx context.Context, cfg *config.Config, cl *cluster.Cluster, log func(string)) (string, error) {
	if cfg.ProbeImage != "" {
		log("using PROBE_IMAGE " + cfg.ProbeImage + " (the cluster must be able to pull it)")
		return cfg.ProbeImage, nil
	}
	if cfg.ClusterMode != config.ClusterKind {
		return "", fmt.Errorf("CLUSTER_MODE=existing needs PROBE_IMAGE: push the probe image to a registry the cluster can pull from (ambient-e2e probe-image --push REPOSITORY, or make probe-image PUSH=REPOSITORY, prints the PROBE_IMAGE line)")
	}
	wd, _ := os.Getwd()
	root, err := image.ModuleRoot(wd)
	if err != nil {
		return "", err
	}
	built, err := image.Build(ctx, root, filepath.Join(cfg.CacheDir, "images"), runtime.GOARCH)
	if err != nil {
		return "", err
	}
	log("probe image " + built.Ref)
	if err := cl.LoadImageArchive(built.Archive, built.Ref, log); err != nil {
		return "", err
	}
	return built.Ref, nil
}

// Ztunnel reads the evidence of the mesh's ztunnels.
func (e *Env) Ztunnel() ztunnel.Reader {
	return ztunnel.Reader{Kube: e.Kube, Namespace: e.Shared.Mesh.Namespace}
}

// Attach builds a process's Env from what the first process shared.
func Attach(cfg *config.Config, sh Shared) (*Env, error) {
	rel, _, err := Resolve(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.IstioVersion != "" || cfg.MeshMode == config.MeshInstall {
		rel.Istio = sh.IstioVersion
	}
	cl := cluster.Attach(sh.KindCluster, sh.Kubeconfig, sh.Context)
	rc, err := cl.RESTConfig()
	if err != nil {
		return nil, err
	}
	k, err := kube.New(rc, sh.Kubeconfig, sh.Context, sh.RunID)
	if err != nil {
		return nil, err
	}
	return &Env{Config: cfg, Release: rel, Shared: sh, Kube: k, Cluster: cl}, nil
}

// Teardown removes what the run created: its namespaces always; the mesh
// when UNINSTALL_MESH=1 and this run installed it; the kind cluster when
// this run created it and KEEP_CLUSTER is not set.
func Teardown(ctx context.Context, env *Env, out io.Writer) error {
	log := func(s string) { fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), s) }
	sh := env.Shared
	if sh.ClusterCreated && !env.Config.KeepCluster {
		log("deleting kind cluster " + sh.KindCluster + " (created by this run; KEEP_CLUSTER=1 keeps it)")
		return env.Cluster.Delete()
	}
	names, err := env.Kube.Sweep(ctx, env.Kube.RunSelector(), env.Config.ReadyTimeout)
	if len(names) > 0 {
		log(fmt.Sprintf("removed %d namespaces left by this run: %s", len(names), strings.Join(names, ", ")))
	}
	if err != nil {
		return err
	}
	if sh.MeshInstalled && env.Config.UninstallMesh {
		log("uninstalling Istio (UNINSTALL_MESH=1)")
		return mesh.Uninstall(ctx, sh.Istioctl, env.Kube, sh.Mesh.Namespace, env.Config.InstallTimeout, out)
	}
	return nil
}

func kindClusterExists(name string) (bool, error) {
	return cluster.KindExists(name)
}

func minorOf(gitVersion string) string {
	v := strings.TrimPrefix(gitVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

func absolute(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	wd, _ := os.Getwd()
	if root, err := image.ModuleRoot(wd); err == nil {
		return filepath.Join(root, p)
	}
	a, _ := filepath.Abs(p)
	return a
}

// NewRunID returns a fresh run ID (RUN_ID when it is not set): 8 hex digits.
func NewRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
