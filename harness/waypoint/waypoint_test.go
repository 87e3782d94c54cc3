package waypoint

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"
)

// The Gateway must be what `istioctl waypoint apply --for service` writes
// (docs/istio-facts.md §3.2, istio istioctl/pkg/waypoint/waypoint.go).
func TestGatewayIsWhatIstioctlApplies(t *testing.T) {
	const istioctlOutput = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  labels:
    istio.io/waypoint-for: service
  name: waypoint
  namespace: ns1
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
`
	var want gatewayv1.Gateway
	if err := yaml.UnmarshalStrict([]byte(istioctlOutput), &want); err != nil {
		t.Fatal(err)
	}
	m, err := Manifest(Gateway("ns1", "waypoint", ForService))
	if err != nil {
		t.Fatal(err)
	}
	var got gatewayv1.Gateway
	if err := yaml.UnmarshalStrict(m, &got); err != nil {
		t.Fatalf("%v\n%s", err, m)
	}
	gy, _ := yaml.Marshal(got)
	wy, _ := yaml.Marshal(want)
	if string(gy) != string(wy) {
		t.Errorf("got\n%s\nwant\n%s", gy, wy)
	}
	if gw := Gateway("ns1", "w", ""); gw.Labels != nil {
		t.Errorf("no --for must write no label, got %v", gw.Labels)
	}
}

func TestProgrammed(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, gen int64) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: "R", Message: "m", ObservedGeneration: gen}
	}
	cases := []struct {
		name   string
		gen    int64
		conds  []metav1.Condition
		want   bool
		reason string
	}{
		{"no controller", 1, nil, false, "no status conditions: nothing has picked up gatewayClassName istio-waypoint"},
		{"accepted only", 1, []metav1.Condition{cond("Accepted", metav1.ConditionTrue, 1)}, false, "no Programmed condition; Accepted=True"},
		{"not programmed", 1, []metav1.Condition{cond("Programmed", metav1.ConditionFalse, 1)}, false, "Programmed=False (R: m)"},
		{"stale", 2, []metav1.Condition{cond("Programmed", metav1.ConditionTrue, 1)}, false, "generation 1, the Gateway is at 2"},
		{"programmed", 2, []metav1.Condition{cond("Accepted", metav1.ConditionTrue, 2), cond("Programmed", metav1.ConditionTrue, 2)}, true, "Accepted=True (R: m); Programmed=True (R: m)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gw := Gateway("ns", "waypoint", "")
			gw.Generation = tc.gen
			gw.Status.Conditions = tc.conds
			ok, why := Programmed(gw)
			if ok != tc.want || !strings.Contains(why, tc.reason) {
				t.Errorf("Programmed = %v, %q; want %v, …%q…", ok, why, tc.want, tc.reason)
			}
		})
	}
}

// The status istiod writes on a selector-bound L7 ALLOW policy of a
// ztunnel-only workload (docs/istio-facts.md §4.2; the same text is quoted by users of
// Istio 1.24–1.31).
const misboundPolicy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: ns1
spec:
  selector:
    matchLabels: {app: api}
status:
  conditions:
  - message: 'ztunnel does not support HTTP attributes (found: methods, requestPrincipals).
      In ambient mode you must use a waypoint proxy to enforce HTTP rules. Within
      an ALLOW policy, rules matching HTTP attributes are omitted. This will be more
      restrictive than requested.'
    observedGeneration: "1"
    reason: UnsupportedValue
    status: "True"
    type: ZtunnelAccepted
`

func TestParseConditions(t *testing.T) {
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(misboundPolicy), &obj); err != nil {
		t.Fatal(err)
	}
	cs, err := ParseConditions(obj)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%v %v", cs, err)
	}
	c := cs[0]
	if c.Type != ZtunnelAccepted || c.Reason != "UnsupportedValue" || c.Status != metav1.ConditionTrue ||
		!strings.HasPrefix(c.Message, "ztunnel does not support HTTP attributes") {
		t.Errorf("%+v", c)
	}
	none, err := ParseConditions(map[string]any{"spec": map[string]any{}})
	if err != nil || none != nil {
		t.Errorf("no status: %v %v", none, err)
	}
	if _, err := ParseConditions(map[string]any{"status": map[string]any{"conditions": "x"}}); err == nil {
		t.Error("a malformed status was accepted")
	}
}
