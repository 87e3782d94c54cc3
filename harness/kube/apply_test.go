package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
)

// Server-side apply needs apiVersion and kind in the body: typed objects from
// the decoder must keep them, and CRD objects must decode as unstructured.
func TestApplyBodiesKeepTypeMeta(t *testing.T) {
	w, err := fixtures.Render(fixtures.Workload{Namespace: "ns", Name: "echo-server", Service: "echo-server", Image: "i"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := fixtures.Policy(fixtures.AllowFrontendToBackend, fixtures.PolicyData{Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	err = decoder.DecodeEach(context.Background(), bytes.NewReader(append(append(w, []byte("\n---\n")...), p...)), func(ctx context.Context, obj k8s.Object) error {
		body, err := applyBody(obj)
		if err != nil {
			return err
		}
		var tm struct{ APIVersion, Kind string }
		if err := json.Unmarshal(body, &tm); err != nil {
			return err
		}
		if tm.APIVersion == "" || tm.Kind == "" {
			t.Errorf("%T lost its type meta: %s", obj, body)
		}
		kinds = append(kinds, tm.Kind)
		return nil
	}, decoder.MutateLabels(map[string]string{OwnedLabel: "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds, ","); got != "ServiceAccount,Deployment,Service,AuthorizationPolicy" {
		t.Fatalf("kinds %s", got)
	}
}
