package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

// InstallOptions are the values the suite installs Istio with.
type InstallOptions struct {
	Version       string // exact Istio release, e.g. 1.30.8
	Hub           string // image hub, e.g. docker.io/istio
	AccessLogFile string // meshConfig.accessLogFile; /dev/stdout so waypoints log
	// ReadinessTimeout bounds istioctl's own wait for each component
	// (--readiness-timeout, operator/cmd/mesh/install.go@1.28.10 to
	// release-1.31; default 5m); 0 keeps istioctl's default.
	ReadinessTimeout time.Duration
}

// overlayTmpl is the IstioOperator the suite installs: the ambient profile
// (istio manifests/profiles/ambient.yaml: istiod, istio-cni, ztunnel, no
// ingress) and a pinned hub, because 1.30's default registry is being retired
// (docs/istio-facts.md §1.2). kind needs no platform override (docs/istio-facts.md §1.4).
var overlayTmpl = template.Must(template.New("iop").Parse(`apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: ambient-e2e
  namespace: istio-system
spec:
  profile: ambient
  hub: {{ .Hub }}
  tag: {{ .Version }}
  meshConfig:
    accessLogFile: {{ .AccessLogFile }}
`))

// RenderOverlay renders the IstioOperator overlay for istioctl install -f.
func RenderOverlay(o InstallOptions) ([]byte, error) {
	if o.Version == "" || o.Hub == "" {
		return nil, fmt.Errorf("install options need a version and a hub, got %+v", o)
	}
	if o.AccessLogFile == "" {
		o.AccessLogFile = "/dev/stdout"
	}
	var b bytes.Buffer
	err := overlayTmpl.Execute(&b, o)
	return b.Bytes(), err
}

// Target is the cluster an istioctl command acts on. istioctl would
// otherwise use $KUBECONFIG or ~/.kube/config, which need not be the
// cluster the suite runs on (a kind cluster's kubeconfig lives in WORK_DIR).
type Target struct {
	Kubeconfig string // --kubeconfig; empty = istioctl's default
	Context    string // --context; empty = the kubeconfig's current context
}

// TargetOf is the cluster k talks to.
func TargetOf(k *kube.Kube) Target {
	return Target{Kubeconfig: k.Env.KubeconfigFile(), Context: k.Env.KubeContext()}
}

// Args are istioctl's global flags that select the target.
func (t Target) Args() []string {
	var args []string
	if t.Kubeconfig != "" {
		args = append(args, "--kubeconfig", t.Kubeconfig)
	}
	if t.Context != "" {
		args = append(args, "--context", t.Context)
	}
	return args
}

// Istioctl runs one istioctl command against t with a bound, streaming its
// output to out.
func Istioctl(ctx context.Context, path string, t Target, timeout time.Duration, out io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append(t.Args(), args...)...)
	var tail bytes.Buffer
	w := io.MultiWriter(out, &tail)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("istioctl %s did not finish within %s", strings.Join(args, " "), timeout)
	}
	if err != nil {
		return fmt.Errorf("istioctl %s: %w: %s", strings.Join(args, " "), err, lastLines(tail.String(), 5))
	}
	return nil
}

// Install runs `istioctl install` with the rendered overlay.
func Install(ctx context.Context, istioctl string, t Target, workDir string, o InstallOptions, timeout time.Duration, out io.Writer) error {
	overlay, err := RenderOverlay(o)
	if err != nil {
		return err
	}
	p := filepath.Join(workDir, "istio-ambient-overlay.yaml")
	if err := os.WriteFile(p, overlay, 0o644); err != nil {
		return err
	}
	args := []string{"install", "-y", "-f", p}
	if o.ReadinessTimeout > 0 {
		args = append(args, "--readiness-timeout", o.ReadinessTimeout.String())
	}
	return Istioctl(ctx, istioctl, t, timeout, out, args...)
}

// Uninstall removes everything istioctl installed, then the namespace.
func Uninstall(ctx context.Context, istioctl string, k *kube.Kube, namespace string, timeout time.Duration, out io.Writer) error {
	if err := Istioctl(ctx, istioctl, TargetOf(k), timeout, out, "uninstall", "--purge", "-y"); err != nil {
		return err
	}
	return k.DeleteNamespace(ctx, namespace, timeout)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Gateway API bundle annotations on every CRD of a release bundle.
const (
	bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"
	channelAnnotation       = "gateway.networking.k8s.io/channel"
)

// ModuleDir returns the module cache directory of module@version, downloading
// it through the Go module proxy when needed. The CRDs of Gateway API and
// Istio ship inside their Go modules, which makes them pinned and reachable
// wherever Go modules are.
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir() // outside any module, so the project's go.mod is not consulted
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Dir == "" {
		msg := info.Error
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg == "" {
			msg = string(ee.Stderr)
		}
		if err == nil {
			err = errors.New("no module directory")
		}
		return "", fmt.Errorf("go mod download %s@%s: %w %s", module, version, err, strings.TrimSpace(msg))
	}
	return info.Dir, nil
}

// ReadManifests concatenates the YAML files of dir (sorted, kustomization excluded).
func ReadManifests(dir string) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no manifests in %s", dir)
	}
	var b bytes.Buffer
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(data)
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

// GatewayAPICRDs returns the standard-channel CRDs of a Gateway API release.
func GatewayAPICRDs(ctx context.Context, version string) ([]byte, error) {
	dir, err := ModuleDir(ctx, "sigs.k8s.io/gateway-api", version)
	if err != nil {
		return nil, err
	}
	return ReadManifests(filepath.Join(dir, "config", "crd", "standard"))
}

// IstioCRDs returns the CRDs of an Istio release from istio.io/api.
func IstioCRDs(ctx context.Context, apiModuleVersion string) ([]byte, error) {
	dir, err := ModuleDir(ctx, "istio.io/api", apiModuleVersion)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"))
}

// InstalledGatewayAPI reports the bundle version and channel of the Gateway
// CRD in the cluster, or found=false.
func InstalledGatewayAPI(ctx context.Context, k *kube.Kube) (version, channel string, found bool, err error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	err = k.Res().Get(ctx, "gateways.gateway.networking.k8s.io", "", u)
	if apierrors.IsNotFound(err) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	a := u.GetAnnotations()
	return a[bundleVersionAnnotation], a[channelAnnotation], true, nil
}

// EnsureGatewayAPI installs the standard-channel Gateway API CRDs of version
// unless a bundle is already there. An existing experimental bundle is kept:
// from v1.5 the bundle's ValidatingAdmissionPolicy forbids mixing channels.
func EnsureGatewayAPI(ctx context.Context, k *kube.Kube, version string, progress func(string)) error {
	have, channel, found, err := InstalledGatewayAPI(ctx, k)
	if err != nil {
		return fmt.Errorf("reading the Gateway API CRDs: %w", err)
	}
	if found {
		progress(fmt.Sprintf("Gateway API CRDs %s (%s channel) already installed; the release wants %s", have, channel, version))
		if have == version || channel == "experimental" {
			return nil
		}
	}
	crds, err := GatewayAPICRDs(ctx, version)
	if err != nil {
		return err
	}
	progress("installing Gateway API CRDs " + version + " (standard channel)")
	return k.ApplyCluster(ctx, crds)
}

// ReleaseImages lists every image an install of o needs on the nodes: the
// container images of the Deployments and DaemonSets `istioctl manifest
// generate` renders from the same overlay (istiod, istio-cni, ztunnel), and
// the waypoint proxy, which istiod deploys later from the same hub, tag and
// variant as istiod's image under the name proxyv2 (istio-discovery
// files/waypoint.yaml `image: {{ .ProxyImage }}`; values global.proxy.image
// "proxyv2"). It needs no cluster.
func ReleaseImages(ctx context.Context, istioctl, workDir string, o InstallOptions, timeout time.Duration) ([]string, error) {
	overlay, err := RenderOverlay(o)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(workDir, "istio-ambient-overlay.yaml")
	if err := os.WriteFile(p, overlay, 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, istioctl, "manifest", "generate", "-f", p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("istioctl manifest generate: %w: %s", err, lastLines(stderr.String(), 5))
	}
	return ManifestImages(out)
}

// ManifestImages reads the container images of the workloads in a
// multi-document manifest and adds the waypoint proxy image (see
// ReleaseImages). The list is sorted and without duplicates.
func ManifestImages(manifest []byte) ([]string, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	seen := map[string]bool{}
	var pilot string
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("reading the rendered manifest: %w", err)
		}
		u := unstructured.Unstructured{Object: obj}
		switch u.GetKind() {
		case "Deployment", "DaemonSet", "StatefulSet":
		default:
			continue
		}
		for _, field := range []string{"containers", "initContainers"} {
			cs, _, _ := unstructured.NestedSlice(obj, "spec", "template", "spec", field)
			for _, c := range cs {
				m, _ := c.(map[string]any)
				img, _ := m["image"].(string)
				if img == "" {
					continue
				}
				seen[img] = true
				if strings.Contains(img, "/pilot:") {
					pilot = img
				}
			}
		}
	}
	if pilot == "" {
		return nil, errors.New("the rendered manifest has no pilot (istiod) image: is it an Istio install manifest?")
	}
	seen[strings.Replace(pilot, "/pilot:", "/proxyv2:", 1)] = true
	out := make([]string, 0, len(seen))
	for img := range seen {
		out = append(out, img)
	}
	sort.Strings(out)
	return out, nil
}
