// Package kube is the suite's Kubernetes access, built on sigs.k8s.io/e2e-framework
// (envconf, klient, decoder, wait/conditions): labelled namespaces, server-side
// apply of manifests, readiness waits, pod exec and the sweep that removes
// everything a run created.
package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Labels every object the suite creates carries.
const (
	OwnedLabel = "ambient-e2e.io/owned" // "true" on everything the suite creates
	RunLabel   = "ambient-e2e.io/run"   // the run ID
	FieldOwner = "ambient-e2e"          // server-side apply field manager
)

// Kube is a cluster client for one run.
type Kube struct {
	Env   *envconf.Config
	RunID string
}

// New builds the client from a REST config.
func New(cfg *rest.Config, kubeconfig, context, runID string) (*Kube, error) {
	c, err := klient.New(cfg)
	if err != nil {
		return nil, err
	}
	env := envconf.New().WithClient(c).WithKubeconfigFile(kubeconfig).WithKubeContext(context)
	return &Kube{Env: env, RunID: runID}, nil
}

// Res is the resources client.
func (k *Kube) Res() *resources.Resources { return k.Env.Client().Resources() }

// Labels are the ownership labels of this run.
func (k *Kube) Labels() map[string]string {
	return map[string]string{OwnedLabel: "true", RunLabel: k.RunID}
}

// RunSelector selects everything of this run.
func (k *Kube) RunSelector() string { return RunLabel + "=" + k.RunID }

// CreateNamespace creates a namespace named prefix-<random> with the
// ownership labels plus extra, and returns its name.
func (k *Kube) CreateNamespace(ctx context.Context, prefix string, extra map[string]string) (string, error) {
	labels := k.Labels()
	for key, v := range extra {
		labels[key] = v
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName(prefix, len(prefix)+6), Labels: labels}}
	if err := k.Res().Create(ctx, ns); err != nil {
		return "", fmt.Errorf("creating namespace %s: %w", ns.Name, err)
	}
	return ns.Name, nil
}

// DeleteNamespace deletes a namespace and waits until it is gone.
func (k *Kube) DeleteNamespace(ctx context.Context, name string, timeout time.Duration) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k.Res().Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w", name, err)
	}
	return wait.For(ctx, "namespace "+name+" to be deleted", timeout, func(ctx context.Context) (bool, string, error) {
		err := k.Res().Get(ctx, name, "", &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "terminating", err
	})
}

// Sweep deletes every namespace matching selector (e.g. this run's, or all
// the suite ever created) and waits for them to go.
func (k *Kube) Sweep(ctx context.Context, selector string, timeout time.Duration) ([]string, error) {
	var list corev1.NamespaceList
	if err := k.Res().List(ctx, &list, resources.WithLabelSelector(selector)); err != nil {
		return nil, fmt.Errorf("listing namespaces %s: %w", selector, err)
	}
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
		if err := k.Res().Delete(ctx, &ns); err != nil && !apierrors.IsNotFound(err) {
			return names, err
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	return names, wait.For(ctx, fmt.Sprintf("%d namespaces (%s) to be deleted", len(names), selector), timeout, func(ctx context.Context) (bool, string, error) {
		var l corev1.NamespaceList
		if err := k.Res().List(ctx, &l, resources.WithLabelSelector(selector)); err != nil {
			return false, "", err
		}
		return len(l.Items) == 0, fmt.Sprintf("%d left", len(l.Items)), nil
	})
}

// Apply server-side-applies every object of a multi-document manifest into
// namespace (if non-empty), adding the ownership labels.
func (k *Kube) Apply(ctx context.Context, manifest []byte, namespace string) error {
	opts := []decoder.DecodeOption{decoder.MutateLabels(k.Labels())}
	if namespace != "" {
		opts = append(opts, decoder.MutateNamespace(namespace))
	}
	return decoder.DecodeEach(ctx, bytes.NewReader(manifest), k.applyHandler(false), opts...)
}

// ApplyCluster server-side-applies objects without adding ownership labels:
// for shared, cluster-scoped things such as CRDs, which the suite installs
// but must not sweep.
func (k *Kube) ApplyCluster(ctx context.Context, manifest []byte) error {
	return decoder.DecodeEach(ctx, bytes.NewReader(manifest), k.applyHandler(false))
}

// DryRun asks the API server to validate every object (server-side dry run).
func (k *Kube) DryRun(ctx context.Context, manifest []byte, namespace string) error {
	opts := []decoder.DecodeOption{}
	if namespace != "" {
		opts = append(opts, decoder.MutateNamespace(namespace))
	}
	return decoder.DecodeEach(ctx, bytes.NewReader(manifest), k.applyHandler(true), opts...)
}

func (k *Kube) applyHandler(dryRun bool) decoder.HandlerFunc {
	return func(ctx context.Context, obj k8s.Object) error {
		data, err := applyBody(obj)
		if err != nil {
			return err
		}
		opts := []resources.PatchOption{func(o *metav1.PatchOptions) {
			o.FieldManager = FieldOwner
			force := true
			o.Force = &force
			if dryRun {
				o.DryRun = []string{metav1.DryRunAll}
			}
		}}
		if err := k.Res().Patch(ctx, obj, k8s.Patch{PatchType: types.ApplyPatchType, Data: data}, opts...); err != nil {
			gvk := obj.GetObjectKind().GroupVersionKind()
			return fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		return nil
	}
}

// applyBody is the server-side apply body of obj: its JSON with apiVersion
// and kind, which typed objects may have lost in decoding.
func applyBody(obj k8s.Object) ([]byte, error) {
	if obj.GetObjectKind().GroupVersionKind().Empty() {
		gvks, _, err := scheme.Scheme.ObjectKinds(obj)
		if err != nil || len(gvks) == 0 {
			return nil, fmt.Errorf("no kind known for %T: %w", obj, err)
		}
		obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	return json.Marshal(obj)
}

// DeploymentsReady waits until every Deployment in namespace has all its
// replicas updated and ready.
func (k *Kube) DeploymentsReady(ctx context.Context, namespace string, timeout time.Duration) error {
	return wait.For(ctx, "Deployments in "+namespace+" to be ready", timeout, func(ctx context.Context) (bool, string, error) {
		var l appsv1.DeploymentList
		if err := k.Res().WithNamespace(namespace).List(ctx, &l); err != nil {
			return false, "", err
		}
		var pending []string
		for _, d := range l.Items {
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < want || d.Status.ReadyReplicas < want {
				pending = append(pending, fmt.Sprintf("%s %d/%d", d.Name, d.Status.ReadyReplicas, want))
			}
		}
		if len(l.Items) == 0 {
			return false, "no Deployments yet", nil
		}
		if len(pending) > 0 {
			status := "not ready: " + strings.Join(pending, ", ")
			pods, events, err := k.podsAndEvents(ctx, namespace)
			if err != nil {
				return false, status, nil
			}
			if stuck := StuckSandboxes(pods, events); len(stuck) > 0 {
				return false, status, wait.Permanent(fmt.Errorf("%s: a pod cannot start: %s", status, stuck[0]))
			}
			return false, status + PodHint(pods) + EventHint(pods, events), nil
		}
		return true, "", nil
	})
}

// podsAndEvents lists the pods and events of namespace.
func (k *Kube) podsAndEvents(ctx context.Context, namespace string) ([]corev1.Pod, []corev1.Event, error) {
	var pods corev1.PodList
	if err := k.Res().WithNamespace(namespace).List(ctx, &pods); err != nil {
		return nil, nil, err
	}
	var events corev1.EventList
	if err := k.Res().WithNamespace(namespace).List(ctx, &events); err != nil {
		return nil, nil, err
	}
	return pods.Items, events.Items, nil
}

// PodHints names the pods of namespace stuck in a waiting state, failing
// to get a sandbox or failing readiness probes, so an error says why
// ("ztunnel-x: ImagePullBackOff Back-off pulling image …").
func (k *Kube) PodHints(ctx context.Context, namespace string) string {
	pods, events, err := k.podsAndEvents(ctx, namespace)
	if err != nil {
		return ""
	}
	return PodHint(pods) + EventHint(pods, events)
}

// PodHint names pods stuck in a waiting state or unschedulable, as
// " (name: Reason message; …)", or "" when none is.
func PodHint(pods []corev1.Pod) string {
	var hints []string
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
				hints = append(hints, fmt.Sprintf("%s: %s %s", p.Name, w.Reason, w.Message))
			}
		}
		if p.Status.Phase == corev1.PodPending {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
					hints = append(hints, fmt.Sprintf("%s: unschedulable: %s", p.Name, c.Message))
				}
			}
		}
	}
	if len(hints) == 0 {
		return ""
	}
	sort.Strings(hints)
	return " (" + strings.Join(hints, "; ") + ")"
}

// PodReady says whether the pod's Ready condition is True.
func PodReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Pods lists pods in namespace matching selector ("" = all).
func (k *Kube) Pods(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	var l corev1.PodList
	opts := []resources.ListOption{}
	if selector != "" {
		opts = append(opts, resources.WithLabelSelector(selector))
	}
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, opts...); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// Exec runs a command in a pod's container and returns stdout; stderr is
// part of the error. When the exec request itself cannot reach the API
// server (the command never started), it is retried a few times.
func (k *Kube) Exec(ctx context.Context, namespace, pod, container string, cmd []string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	var err error
	for attempt := 1; ; attempt++ {
		stdout.Reset()
		stderr.Reset()
		err = k.Res().ExecInPod(ctx, namespace, pod, container, cmd, &stdout, &stderr)
		if err == nil || attempt == 3 || !notStarted(err) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("exec %q in %s/%s: %w: %s", strings.Join(cmd, " "), namespace, pod, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// notStarted reports an exec error from before the command ran: the
// request did not reach the API server.
func notStarted(err error) bool {
	s := err.Error()
	return strings.Contains(s, "error sending request") || strings.Contains(s, "dial tcp") || strings.Contains(s, "connection refused")
}

// SetNamespaceLabel sets (value non-nil) or removes (nil) one namespace label
// with a merge patch.
func (k *Kube) SetNamespaceLabel(ctx context.Context, namespace, key string, value *string) error {
	return k.SetLabel(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, key, value)
}

// SetLabel sets (value non-nil) or removes (nil) one label of obj, which
// names the object (name, and namespace if namespaced), with a merge patch.
func (k *Kube) SetLabel(ctx context.Context, obj k8s.Object, key string, value *string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{key: value}}})
	if err != nil {
		return err
	}
	if err := k.Res().Patch(ctx, obj, k8s.Patch{PatchType: types.MergePatchType, Data: patch}); err != nil {
		return fmt.Errorf("labelling %s/%s %s: %w", obj.GetNamespace(), obj.GetName(), key, err)
	}
	return nil
}

// DeleteManifest deletes every object of a manifest (missing ones are fine).
func (k *Kube) DeleteManifest(ctx context.Context, manifest []byte, namespace string) error {
	opts := []decoder.DecodeOption{}
	if namespace != "" {
		opts = append(opts, decoder.MutateNamespace(namespace))
	}
	return decoder.DecodeEach(ctx, bytes.NewReader(manifest), decoder.DeleteIgnoreNotFound(k.Res()), opts...)
}

// ExecStream runs a command in a container and streams its output to the
// given writers as it comes (kube.Exec buffers it until the end).
func (k *Kube) ExecStream(ctx context.Context, namespace, pod, container string, cmd []string, stdout, stderr io.Writer) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Name(pod).Namespace(namespace).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(k.Env.Client().RESTConfig(), "POST", req.URL())
	if err != nil {
		return err
	}
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr}); err != nil {
		return fmt.Errorf("exec %q in %s/%s: %w", strings.Join(cmd, " "), namespace, pod, err)
	}
	return nil
}
