package kube

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Clientset is a typed client for what klient does not cover (logs, proxy).
func (k *Kube) Clientset() (kubernetes.Interface, error) {
	return kubernetes.NewForConfig(k.Env.Client().RESTConfig())
}

// Logs returns a container's log since a time (zero = all), bounded by ctx.
func (k *Kube) Logs(ctx context.Context, namespace, pod, container string, since time.Time) ([]byte, error) {
	cs, err := k.Clientset()
	if err != nil {
		return nil, err
	}
	opts := &corev1.PodLogOptions{Container: container}
	if !since.IsZero() {
		t := metav1.NewTime(since)
		opts.SinceTime = &t
	}
	b, err := cs.CoreV1().Pods(namespace).GetLogs(pod, opts).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of %s/%s: %w", namespace, pod, err)
	}
	return b, nil
}

// ProxyGet fetches http://<pod>:<port><path> through the API server's pod
// proxy, so no port-forward or host port is needed (metrics endpoints).
func (k *Kube) ProxyGet(ctx context.Context, namespace, pod string, port int, path string) ([]byte, error) {
	cs, err := k.Clientset()
	if err != nil {
		return nil, err
	}
	b, err := cs.CoreV1().Pods(namespace).ProxyGet("http", pod, strconv.Itoa(port), path, nil).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET %s/%s:%d%s via the API server proxy: %w", namespace, pod, port, path, err)
	}
	return b, nil
}

// WorkerNodes lists the nodes ordinary pods are scheduled on (schedulable,
// no NoSchedule/NoExecute taint), sorted by name.
func (k *Kube) WorkerNodes(ctx context.Context) ([]string, error) {
	var nodes corev1.NodeList
	if err := k.Res().List(ctx, &nodes); err != nil {
		return nil, err
	}
	var out []string
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable {
			continue
		}
		tainted := false
		for _, t := range n.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				tainted = true
			}
		}
		if !tainted {
			out = append(out, n.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}
