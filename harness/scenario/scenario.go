// Package scenario gives each spec its own labelled namespace with probe
// workloads in it, and the few cluster actions the seed's phases are made
// of: deploy, send traffic from a pod, label the namespace, read enrollment.
package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/ambient"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/traffic"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Scenario is one spec's namespace and workloads.
type Scenario struct {
	Env       *setup.Env
	Namespace string

	mu        sync.Mutex
	enrollErr error // why the last Enroll failed
}

// New creates the scenario's namespace (prefix-<random>, ownership labels
// plus nsLabels). The caller registers Cleanup (DeferCleanup).
func New(ctx context.Context, env *setup.Env, prefix string, nsLabels map[string]string) (*Scenario, error) {
	ns, err := env.Kube.CreateNamespace(ctx, prefix, nsLabels)
	if err != nil {
		return nil, err
	}
	return &Scenario{Env: env, Namespace: ns}, nil
}

// Cleanup deletes the namespace and waits for it to go.
func (s *Scenario) Cleanup(ctx context.Context) error {
	return s.Env.Kube.DeleteNamespace(ctx, s.Namespace, s.Env.Config.ReadyTimeout)
}

// Deploy renders, applies and waits for the workloads (image and namespace filled in).
func (s *Scenario) Deploy(ctx context.Context, ws ...fixtures.Workload) error {
	for _, w := range ws {
		w.Namespace = s.Namespace
		w.Image = s.Env.Shared.ProbeImage
		w.ObjectLabels = s.Env.Kube.Labels()
		m, err := fixtures.Render(w)
		if err != nil {
			return err
		}
		if err := s.Env.Kube.Apply(ctx, m, s.Namespace); err != nil {
			return err
		}
	}
	return s.Env.Kube.DeploymentsReady(ctx, s.Namespace, s.Env.Config.ReadyTimeout)
}

// Pods lists the scenario's pods (selector "" = all).
func (s *Scenario) Pods(ctx context.Context, selector string) ([]corev1.Pod, error) {
	return s.Env.Kube.Pods(ctx, s.Namespace, selector)
}

// capturablePods lists the pods enrollment is judged on: every pod but the
// hostNetwork ones (a sniffer), which istio-cni never enrolls.
func (s *Scenario) capturablePods(ctx context.Context) ([]corev1.Pod, error) {
	pods, err := s.Pods(ctx, "")
	return ambient.Capturable(pods), err
}

// Client returns a traffic client in the running pod of app.
func (s *Scenario) Client(ctx context.Context, app string) (traffic.Client, error) {
	pods, err := s.Pods(ctx, "app="+app)
	if err != nil {
		return traffic.Client{}, err
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			return traffic.Client{Kube: s.Env.Kube, Namespace: s.Namespace, Pod: p.Name}, nil
		}
	}
	return traffic.Client{}, fmt.Errorf("no running pod with app=%s in %s", app, s.Namespace)
}

// HTTP is the URL of a Service's HTTP port in this namespace.
func (s *Scenario) HTTP(service, path string) string {
	return fmt.Sprintf("http://%s:%d%s", s.FQDN(service), fixtures.HTTPPort, path)
}

// TCP is the URL of a Service's TCP echo port in this namespace.
func (s *Scenario) TCP(service string) string {
	return fmt.Sprintf("tcp://%s:%d", s.FQDN(service), fixtures.TCPPort)
}

// FQDN is a Service's name in the cluster's DNS: <svc>.<ns>.svc.<CLUSTER_DOMAIN>,
// as the mesh labels it (destination_service) too.
func (s *Scenario) FQDN(service string) string {
	return fmt.Sprintf("%s.%s.svc.%s", service, s.Namespace, s.Env.Config.ClusterDomain)
}

// SetDataplaneMode labels the namespace istio.io/dataplane-mode=mode, or
// removes the label when mode is "".
func (s *Scenario) SetDataplaneMode(ctx context.Context, mode string) error {
	var v *string
	if mode != "" {
		v = &mode
	}
	return s.Env.Kube.SetNamespaceLabel(ctx, s.Namespace, ambient.DataplaneModeLabel, v)
}

// WaitEnrolled waits until every pod matching want has the redirection
// annotation "enabled". The timeout error names the pods that never got it.
func (s *Scenario) WaitEnrolled(ctx context.Context, want func(*corev1.Pod) bool, timeout time.Duration) error {
	what := fmt.Sprintf("%s=%s on every pod in %s", ambient.RedirectionAnnotation, ambient.RedirectionEnabled, s.Namespace)
	return wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		pods, err := s.capturablePods(ctx)
		if err != nil {
			return false, "", err
		}
		var sel []corev1.Pod
		for i := range pods {
			if want(&pods[i]) {
				sel = append(sel, pods[i])
			}
		}
		en, not := ambient.Enrollment(sel)
		status := fmt.Sprintf("%d/%d enrolled", len(en), len(sel))
		if len(not) > 0 {
			status += "; not enabled: " + strings.Join(not, ", ")
			// Pending pods with no ready ztunnel on their nodes cannot
			// enroll until one is: say so now rather than at the bound.
			if zts, err := s.Env.Kube.Pods(ctx, s.Env.Shared.Mesh.Namespace, ztunnelSelector); err == nil {
				if why, stuck := ambient.CannotComplete(sel, zts); stuck {
					return false, status, wait.Permanent(fmt.Errorf("%s: %s", status, why))
				}
			}
		}
		return len(sel) > 0 && len(not) == 0, status, nil
	})
}

// ztunnelSelector selects the ztunnel pods of the mesh namespace (the
// ambient profile's DaemonSet labels them app=ztunnel).
const ztunnelSelector = "app=ztunnel"

// Snapshot records pod UIDs, container IDs and restart counts of the
// workloads (a sniffer pod that comes and goes is not one).
func (s *Scenario) Snapshot(ctx context.Context) (map[string]ambient.PodState, error) {
	pods, err := s.capturablePods(ctx)
	if err != nil {
		return nil, err
	}
	return ambient.Snapshot(pods), nil
}

// Enroll labels the namespace ambient and waits for its pods to be enrolled.
// The error is returned, not fatal: specs that need a mesh then fail on
// their own evidence ("expected reset, got 200"), which says more than a
// shared precondition would.
func (s *Scenario) Enroll(ctx context.Context) error {
	err := s.SetDataplaneMode(ctx, ambient.DataplaneModeAmbient)
	if err == nil {
		err = s.WaitEnrolled(ctx, func(p *corev1.Pod) bool { return !ambient.OptedOut(p) }, s.Env.Config.EnrollTimeout)
	}
	s.mu.Lock()
	s.enrollErr = err
	s.mu.Unlock()
	return err
}

// NotEnrolled says why the last Enroll failed, or nil (also when Enroll
// was never called). Pods whose namespace never enrolled have no mesh path
// that could still converge.
func (s *Scenario) NotEnrolled() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enrollErr
}

// Apply renders a policy fixture for this namespace and applies it.
func (s *Scenario) Apply(ctx context.Context, policy string) error {
	return s.ApplyWith(ctx, policy, fixtures.PolicyData{})
}

// Delete removes a policy fixture from this namespace.
func (s *Scenario) Delete(ctx context.Context, policy string) error {
	m, err := fixtures.Policy(policy, fixtures.PolicyData{Namespace: s.Namespace})
	if err != nil {
		return err
	}
	return s.Env.Kube.DeleteManifest(ctx, m, s.Namespace)
}

// Pod returns the running pod of app, with its IP and node.
func (s *Scenario) Pod(ctx context.Context, app string) (corev1.Pod, error) {
	pods, err := s.Pods(ctx, "app="+app)
	if err != nil {
		return corev1.Pod{}, err
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			return p, nil
		}
	}
	return corev1.Pod{}, fmt.Errorf("no running pod with app=%s and an IP in %s", app, s.Namespace)
}

// WaitUnenrolled waits until no pod has the redirection annotation.
func (s *Scenario) WaitUnenrolled(ctx context.Context, timeout time.Duration) error {
	what := fmt.Sprintf("%s to be removed from every pod in %s", ambient.RedirectionAnnotation, s.Namespace)
	return wait.For(ctx, what, timeout, func(ctx context.Context) (bool, string, error) {
		pods, err := s.capturablePods(ctx)
		if err != nil {
			return false, "", err
		}
		en, _ := ambient.Enrollment(pods)
		return len(en) == 0, fmt.Sprintf("still enrolled: %s", strings.Join(en, ", ")), nil
	})
}

// Served asks app's echo server (through the API server's pod proxy, not
// through the mesh) how many echo replies it has served.
func (s *Scenario) Served(ctx context.Context, app string) (int64, error) {
	p, err := s.Pod(ctx, app)
	if err != nil {
		return 0, err
	}
	b, err := s.Env.Kube.ProxyGet(ctx, s.Namespace, p.Name, fixtures.HTTPPort, "/stats")
	if err != nil {
		return 0, err
	}
	var st wire.EchoStats
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("stats of %s: %w", p.Name, err)
	}
	return st.Served, nil
}

// WaitServed waits until app's server has served more than n replies.
func (s *Scenario) WaitServed(ctx context.Context, app string, n int64, timeout time.Duration) error {
	return wait.For(ctx, fmt.Sprintf("%s to serve more than %d requests", app, n), timeout, func(ctx context.Context) (bool, string, error) {
		got, err := s.Served(ctx, app)
		return got > n, fmt.Sprintf("%d served", got), err
	})
}

// LabelService sets (value non-nil) or removes (nil) a label of a Service.
func (s *Scenario) LabelService(ctx context.Context, service, key string, value *string) error {
	svc := &corev1.Service{}
	svc.Name, svc.Namespace = service, s.Namespace
	return s.Env.Kube.SetLabel(ctx, svc, key, value)
}

// ApplyWith renders a policy fixture with d (its Namespace set to this
// scenario's) and applies it.
func (s *Scenario) ApplyWith(ctx context.Context, policy string, d fixtures.PolicyData) error {
	d.Namespace, d.TrustDomain = s.Namespace, s.Env.Config.TrustDomain
	m, err := fixtures.Policy(policy, d)
	if err != nil {
		return err
	}
	return s.Env.Kube.Apply(ctx, m, s.Namespace)
}
