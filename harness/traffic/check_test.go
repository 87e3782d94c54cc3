package traffic

import (
	"strings"
	"testing"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/classify"
	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

var (
	ok200 = wire.Result{Protocol: "http", Status: 200, Body: &wire.EchoReply{Pod: "echo-server-abc", Headers: map[string][]string{"User-Agent": {"probe"}}}}
	l7200 = wire.Result{Protocol: "http", Status: 200, Body: &wire.EchoReply{Pod: "echo-server-abc", Headers: map[string][]string{"X-Request-Id": {"7f1c"}}}}
	reset = wire.Result{Protocol: "http", Error: "read tcp 10.244.1.5:4711->10.96.0.10:8080: read: connection reset by peer", ErrorClass: wire.ClassReset}
	drop  = wire.Result{Protocol: "http", Error: "context deadline exceeded", ErrorClass: wire.ClassTimeout}
	eof   = wire.Result{Protocol: "tcp", Error: "EOF", ErrorClass: wire.ClassEOF}
	rbac  = wire.Result{Protocol: "http", Status: 403, BodyText: "RBAC: access denied"}
	v2    = wire.Result{Protocol: "http", Status: 200, Body: &wire.EchoReply{Pod: "api-v2-x", Version: "v2", Headers: map[string][]string{"X-Route": {"default"}}}}
	s503  = wire.Result{Protocol: "http", Status: 503, BodyText: "upstream connect error"}
	// What the probe reported for an HBONE client a real ztunnel refused.
	hboneEOF = wire.Result{Protocol: "http", Error: hboneEOFText, ErrorClass: classify.ClassifyText(hboneEOFText)}
)

const hboneEOFText = `Get "http://backend.authz-af48e.svc.cluster.local:8080/": EOF`

func TestChecks(t *testing.T) {
	cases := []struct {
		name    string
		check   Check
		result  wire.Result
		wantErr string // "" = pass
	}{
		{"OK passes 200", OK(), ok200, ""},
		{"OK fails reset", OK(), reset, "expected 200, got reset (read tcp"},
		{"OK fails 403", OK(), rbac, `expected 200, got 403 "RBAC: access denied"`},
		{"Reset passes reset", Reset(), reset, ""},
		{"Reset fails 200: the null-mesh message", Reset(), ok200, "expected reset, got 200 from echo-server-abc"},
		{"Reset fails timeout", Reset(), drop, "expected reset, got timeout"},
		{"Timeout passes drop", Timeout(), drop, ""},
		{"Forbidden passes RBAC 403", Forbidden(), rbac, ""},
		{"Forbidden fails 503", Forbidden(), s503, "expected 403"},
		{"Forbidden fails 200", Forbidden(), ok200, "expected 403, got 200"},
		{"IsL7 passes with X-Request-Id", RequestHeader("x-request-id"), l7200, ""},
		{"IsL7 fails without", RequestHeader("X-Request-Id"), ok200, "expected the server to see header X-Request-Id, it saw User-Agent"},
		{"IsL4 passes without", NoRequestHeader("X-Request-Id"), ok200, ""},
		{"IsL4 fails with", NoRequestHeader("X-Request-Id"), l7200, "expected no X-Request-Id"},
		{"ViaWaypoint passes with X-Request-Id", ViaWaypoint(), l7200, ""},
		{"ViaWaypoint fails without: the null-mesh message", ViaWaypoint(), ok200, "no waypoint in path (no X-Request-Id at the server): expected the server to see header X-Request-Id, it saw User-Agent"},
		{"ViaWaypoint fails on a reset", ViaWaypoint(), reset, "no waypoint in path (no X-Request-Id at the server): expected the server to see X-Request-Id, got reset"},
		{"NotViaWaypoint passes without", NotViaWaypoint(), ok200, ""},
		{"NotViaWaypoint fails with", NotViaWaypoint(), l7200, "expected L4 only (no waypoint): expected no X-Request-Id"},
		{"Version passes", Version("v2"), v2, ""},
		{"Version fails", Version("v1"), v2, `expected a reply from version v1, got 200 from api-v2-x (version "v2")`},
		{"Version fails on 403", Version("v1"), rbac, "expected a reply from version v1, got 403"},
		{"RequestHeaderValue passes", RequestHeaderValue("x-route", "default"), v2, ""},
		{"RequestHeaderValue fails on the value", RequestHeaderValue("X-Route", "other"), v2, `expected the server to see X-Route: other, it saw ["default"]`},
		{"RequestHeaderValue fails when absent", RequestHeaderValue("X-Other", "1"), v2, "expected the server to see header X-Other"},
		{"IsL4 fails on error", NoRequestHeader("X-Request-Id"), reset, "expected an echo reply"},
		{"ServedBy", ServedBy("echo-server"), ok200, ""},
		{"ServedBy other", ServedBy("echo-v2"), ok200, "expected a reply from echo-v2*"},
		{"NotServedBy passes a reset", NotServedBy("echo-server"), reset, ""},
		{"NotServedBy passes a timeout", NotServedBy("echo-server"), drop, ""},
		{"NotServedBy passes a 503 from a proxy", NotServedBy("echo-server"), s503, ""},
		{"NotServedBy passes another server's reply", NotServedBy("echo-v2"), ok200, ""},
		{"NotServedBy fails a direct reply", NotServedBy("echo-server"), ok200, "expected no reply from echo-server*, got 200 from echo-server-abc (no X-Request-Id at the server: no waypoint in path)"},
		{"NotServedBy fails a reply through a waypoint", NotServedBy("echo-server"), l7200, "(X-Request-Id at the server: through a waypoint)"},
		{"ZtunnelRefused: a reset", ZtunnelRefused(), reset, ""},
		// A real ztunnel (release-1.31) refusing an HBONE client by a DENY,
		// the self-test's ztunnel mesh, 2026-12-07: the probe's error was
		// `Get "http://backend.authz-af48e.svc.cluster.local:8080/": EOF`.
		{"ZtunnelRefused: EOF (an HBONE client of a real ztunnel)", ZtunnelRefused(), hboneEOF, ""},
		{"ZtunnelRefused: EOF", ZtunnelRefused(), eof, ""},
		{"ZtunnelRefused fails 200: the null-mesh message", ZtunnelRefused(), ok200, "expected reset, got 200 from echo-server-abc"},
		{"ZtunnelRefused fails a drop", ZtunnelRefused(), drop, "expected eof, got timeout"},
		{"Deny passes reset", Deny(), reset, ""},
		{"Deny passes eof", Deny(), eof, ""},
		{"Deny passes 403", Deny(), rbac, ""},
		{"Deny passes 503", Deny(), s503, ""},
		{"Deny fails 200", Deny(), ok200, "none of"},
		{"Deny fails timeout (a drop is not a mesh deny)", Deny(), drop, "none of"},
		{"And reports first failure", And(OK(), RequestHeader("X-Request-Id")), ok200, "X-Request-Id"},
		{"And passes", And(OK(), RequestHeader("X-Request-Id")), l7200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.result)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected failure: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("passed, want failure containing %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %q lacks %q", err, tc.wantErr)
			}
		})
	}
}

func TestEach(t *testing.T) {
	if err := Each(OK(), []wire.Result{ok200, ok200}); err != nil {
		t.Fatal(err)
	}
	err := Each(OK(), []wire.Result{ok200, reset})
	if err == nil || !strings.Contains(err.Error(), "request 2 of 2") {
		t.Fatalf("err=%v", err)
	}
	if Each(OK(), nil) == nil {
		t.Fatal("no results passed")
	}
}

func TestVersions(t *testing.T) {
	got := Versions([]wire.Result{v2, v2, ok200, reset})
	if got["v2"] != 2 || got[""] != 2 || len(got) != 2 {
		t.Errorf("%v", got)
	}
}
