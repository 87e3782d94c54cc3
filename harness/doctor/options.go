package doctor

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
)

// Defaults of Options.
const (
	// DefaultMeshNamespace is where istioctl and the Helm charts install
	// istiod, ztunnel and istio-cni (istio/istio:pkg/config/constants/constants.go@master
	// IstioSystemNamespace), and Istio's default root namespace for
	// mesh-wide policies (meshConfig.rootNamespace).
	DefaultMeshNamespace = "istio-system"
	// DefaultCallTimeout bounds each request Gather makes.
	DefaultCallTimeout = 10 * time.Second
)

// Options say what Gather reads.
type Options struct {
	// Namespace is the application namespace to check (required).
	Namespace string `json:"namespace"`
	// MeshNamespace holds istiod, ztunnel and istio-cni, and the mesh-wide
	// policies; DefaultMeshNamespace when empty.
	MeshNamespace string `json:"meshNamespace"`
	// TrustDomain of the SPIFFE identities; cluster.local when empty.
	TrustDomain string `json:"trustDomain"`
	// CallTimeout bounds each request to the API server; DefaultCallTimeout
	// when zero.
	CallTimeout time.Duration `json:"callTimeout"`
}

// WithDefaults fills the empty fields and checks the rest: a missing or
// malformed namespace, or a negative timeout, is an error that names it.
func (o Options) WithDefaults() (Options, error) {
	if o.MeshNamespace == "" {
		o.MeshNamespace = DefaultMeshNamespace
	}
	if o.TrustDomain == "" {
		o.TrustDomain = evidence.DefaultTrustDomain
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.Namespace == "" {
		return o, fmt.Errorf("doctor: no namespace given: name the application namespace to check (-n NAMESPACE)")
	}
	for what, v := range map[string]string{"namespace": o.Namespace, "mesh namespace": o.MeshNamespace} {
		if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
			return o, fmt.Errorf("doctor: %s %q is not a valid namespace name: %s", what, v, strings.Join(errs, "; "))
		}
	}
	if strings.ContainsAny(o.TrustDomain, "/ ") {
		return o, fmt.Errorf("doctor: trust domain %q must not contain '/' or spaces (e.g. cluster.local)", o.TrustDomain)
	}
	if o.CallTimeout < 0 {
		return o, fmt.Errorf("doctor: call timeout %s is negative: give a positive bound such as 10s", o.CallTimeout)
	}
	return o, nil
}
