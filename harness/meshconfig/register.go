package meshconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"

	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

// MeshKey is the ConfigMap data key that holds the mesh config YAML.
const MeshKey = "mesh"

// OwnerAnnotationPrefix starts the ConfigMap annotation that records a
// provider the suite added ("<prefix><provider name>": the provider as
// JSON), so an inventory sees it and a sweep can take out exactly it after
// a run that could not restore the mesh config (killed, not interrupted).
const OwnerAnnotationPrefix = "ambient-e2e.io/provider-"

// ownerRecord is the value of an owner annotation.
type ownerRecord struct {
	Run      string   `json:"run"`
	Provider Provider `json:"provider"`
}

// Owned lists the providers the suite's annotations on cm say it added, by run.
func Owned(cm corev1.ConfigMap) (map[string]Provider, map[string]string) {
	providers, runs := map[string]Provider{}, map[string]string{}
	for k, v := range cm.Annotations {
		name, ok := strings.CutPrefix(k, OwnerAnnotationPrefix)
		if !ok {
			continue
		}
		var r ownerRecord
		if json.Unmarshal([]byte(v), &r) == nil {
			providers[name], runs[name] = r.Provider, r.Run
		}
	}
	return providers, runs
}

// Register adds p to the mesh config in ConfigMap namespace/configMap (see
// AddProvider), which istiod picks up without a restart. The returned
// restore puts the original mesh text back if Register changed it, and does
// nothing if p was already there. Should someone else have edited the mesh
// config in between, restore takes out only p and keeps their edit. restore
// may be called more than once; after it has succeeded, further calls do
// nothing.
func Register(ctx context.Context, k *kube.Kube, namespace, configMap string, p Provider) (restore func(context.Context) error, err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var (
		original, written string
		hadKey, changed   bool
	)
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cm corev1.ConfigMap
		if err := getConfigMap(ctx, k, namespace, configMap, &cm); err != nil {
			return err
		}
		mesh, ok := cm.Data[MeshKey]
		out, err := AddProvider(mesh, p)
		if err != nil {
			return fmt.Errorf("ConfigMap %s/%s: %w", namespace, configMap, err)
		}
		if ok && out == mesh {
			changed = false
			return nil
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[MeshKey] = out
		rec, err := json.Marshal(ownerRecord{Run: k.RunID, Provider: p})
		if err != nil {
			return err
		}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[OwnerAnnotationPrefix+p.Name] = string(rec)
		if err := k.Res().Update(ctx, &cm); err != nil {
			return err // a conflict is retried with a fresh read
		}
		original, written, hadKey, changed = mesh, out, ok, true
		return nil
	})
	var nf *notFoundError
	if errors.As(err, &nf) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("registering extension provider %q: %w", p.Name, err)
	}
	if !changed {
		return func(context.Context) error { return nil }, nil
	}

	var (
		mu   sync.Mutex
		done bool
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return nil
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var cm corev1.ConfigMap
			if err := k.Res().Get(ctx, configMap, namespace, &cm); err != nil {
				if apierrors.IsNotFound(err) {
					return nil // gone with Istio: nothing to put back
				}
				return err
			}
			cur, ok := cm.Data[MeshKey]
			next, keep := original, hadKey
			if !ok || cur != written {
				// Edited since Register: take out only what Register added.
				out, removed, err := removeProvider(cur, p)
				if err != nil || !removed {
					return err
				}
				next, keep = out, true
			}
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			if keep {
				cm.Data[MeshKey] = next
			} else {
				delete(cm.Data, MeshKey)
			}
			delete(cm.Annotations, OwnerAnnotationPrefix+p.Name)
			return k.Res().Update(ctx, &cm)
		})
		if err != nil {
			return fmt.Errorf("restoring mesh config ConfigMap %s/%s: %w", namespace, configMap, err)
		}
		done = true
		return nil
	}, nil
}

// getConfigMap reads the mesh config ConfigMap, saying plainly when there is none.
// Sweep takes out of the mesh config every provider the suite's
// annotations record (a run that was killed before it could restore), and
// the annotations; it returns their names. A provider whose settings were
// changed since is left in place, only the record goes.
func Sweep(ctx context.Context, k *kube.Kube, namespace, configMap string) ([]string, error) {
	var removed []string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		removed = nil
		var cm corev1.ConfigMap
		if err := k.Res().Get(ctx, configMap, namespace, &cm); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}
		owned, _ := Owned(cm)
		if len(owned) == 0 {
			return nil
		}
		mesh := cm.Data[MeshKey]
		for name, p := range owned {
			out, _, err := removeProvider(mesh, p)
			if err != nil {
				return err
			}
			mesh = out
			delete(cm.Annotations, OwnerAnnotationPrefix+name)
			removed = append(removed, name)
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[MeshKey] = mesh
		return k.Res().Update(ctx, &cm)
	})
	if err != nil {
		return nil, fmt.Errorf("sweeping the suite's providers from ConfigMap %s/%s: %w", namespace, configMap, err)
	}
	sort.Strings(removed)
	return removed, nil
}

func getConfigMap(ctx context.Context, k *kube.Kube, namespace, name string, cm *corev1.ConfigMap) error {
	err := k.Res().Get(ctx, name, namespace, cm)
	switch {
	case apierrors.IsNotFound(err):
		return &notFoundError{msg: fmt.Sprintf("no mesh config: ConfigMap %s/%s not found (is Istio installed?)", namespace, name), err: err}
	case err != nil:
		return fmt.Errorf("reading mesh config ConfigMap %s/%s: %w", namespace, name, err)
	}
	return nil
}

// notFoundError is a plain message that still unwraps to the API error, so
// apierrors.IsNotFound holds for it.
type notFoundError struct {
	msg string
	err error
}

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return e.err }
