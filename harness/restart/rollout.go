// Package restart restarts a mesh DaemonSet the way an in-place upgrade
// replaces its pods (a rolling restart, what `kubectl rollout restart`
// does) and measures what that did to the traffic running through it: the
// new connections that failed and when, and the fate of each held
// connection.
package restart

import (
	"context"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// RestartedAtAnnotation is the pod-template annotation whose change rolls
// the pods, the one `kubectl rollout restart` sets. It stays on the
// DaemonSet afterwards, as kubectl leaves it.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// Rollout is one rolling restart as it happened.
type Rollout struct {
	Namespace, Name string
	// Started is when the template changed; Finished when every pod had
	// been replaced and was available.
	Started, Finished time.Time
	// Old and New are the pods before and after, by name.
	Old, New []string
}

// Took is how long the rollout lasted.
func (r Rollout) Took() time.Duration { return r.Finished.Sub(r.Started) }

// DaemonSet restarts the pods of DaemonSet namespace/name by a change of its
// pod template and waits, within timeout, until every pod has been replaced
// by a ready one: the DaemonSet has observed the change, every scheduled
// pod is updated and available, and none of the old pods is left.
func DaemonSet(ctx context.Context, k *kube.Kube, namespace, name string, timeout time.Duration) (Rollout, error) {
	r := Rollout{Namespace: namespace, Name: name}
	cs, err := k.Clientset()
	if err != nil {
		return r, err
	}
	ds, err := cs.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return r, fmt.Errorf("the DaemonSet to restart: %w", err)
	}
	selector := metav1.FormatLabelSelector(ds.Spec.Selector)
	old, err := k.Pods(ctx, namespace, selector)
	if err != nil {
		return r, err
	}
	if len(old) == 0 {
		return r, fmt.Errorf("DaemonSet %s/%s has no pods to restart", namespace, name)
	}
	r.Old = podNames(old)
	r.Started = time.Now()
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, RestartedAtAnnotation, r.Started.UTC().Format(time.RFC3339Nano))
	patched, err := cs.AppsV1().DaemonSets(namespace).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		return r, fmt.Errorf("restart DaemonSet %s/%s: %w", namespace, name, err)
	}
	generation := patched.Generation
	err = wait.For(ctx, fmt.Sprintf("the rolling restart of DaemonSet %s/%s (%d pods)", namespace, name, len(old)), timeout,
		func(ctx context.Context) (bool, string, error) {
			ds, err := cs.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			pods, err := k.Pods(ctx, namespace, selector)
			if err != nil {
				return false, err.Error(), nil
			}
			done, status := rolledOut(ds, generation, r.Old, pods)
			if done {
				r.New = podNames(pods)
			}
			return done, status, nil
		})
	r.Finished = time.Now()
	return r, err
}

// rolledOut says whether a DaemonSet has rolled out generation: observed,
// every scheduled pod updated and available, no old pod left and every pod
// ready; status says where it stands.
func rolledOut(ds *appsv1.DaemonSet, generation int64, old []string, pods []corev1.Pod) (bool, string) {
	st := ds.Status
	left, ready := 0, 0
	for _, p := range pods {
		if slices.Contains(old, p.Name) {
			left++
		}
		if kube.PodReady(p) && p.DeletionTimestamp == nil {
			ready++
		}
	}
	status := fmt.Sprintf("%d/%d pods updated, %d available, %d of the %d old pods left, %d of %d pods ready",
		st.UpdatedNumberScheduled, st.DesiredNumberScheduled, st.NumberAvailable, left, len(old), ready, len(pods))
	done := st.ObservedGeneration >= generation && st.DesiredNumberScheduled > 0 &&
		st.UpdatedNumberScheduled == st.DesiredNumberScheduled && st.NumberAvailable == st.DesiredNumberScheduled &&
		left == 0 && ready == len(pods) && int32(len(pods)) == st.DesiredNumberScheduled
	return done, status
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, p.Name)
	}
	slices.Sort(out)
	return out
}
