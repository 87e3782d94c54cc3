// Package catalogue declares every conformance test of the suite as data:
// a stable ID, its profile, the claim it supports, the kind of evidence its
// verdict rests on, the seed step it checks, what it needs to be judged and
// its one-line text. The Ginkgo specs are registered from it (their text and
// labels derived, never typed by hand), and the reports, verdict tables,
// report diff and matrix key tests by ID: rewording a test's text does not
// make it another test. Like Gateway API's ConformanceTest{ShortName, ...}.
package catalogue

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Test is one conformance test.
type Test struct {
	// ID is stable across releases of the suite: reports, tables and diffs
	// key by it. Upper case words joined by hyphens, profile first.
	ID string
	// Profile is one of runinfo.Profiles.
	Profile string
	// Disruptive marks a test that disturbs traffic other than its own
	// (restarts, rollbacks); LABEL_FILTER='!disruptive' leaves it out.
	Disruptive bool
	// Claim is the claim the test supports ("" for a test that supports
	// none, e.g. a figure with no budget).
	Claim string
	// Evidence is what the verdict rests on: runinfo.EvidenceObserved,
	// runinfo.EvidenceMesh or both.
	Evidence []string
	// Seed is the step of the rollout article the test checks.
	Seed Step
	// Needs says what the test needs to be judged beyond an ambient mesh
	// (a waypoint proxy, a version, a budget); "" when nothing more.
	Needs string
	// BuildTag is the Go build tag the test is compiled under ("" for every
	// build): a test of the self-test's control-plane mesh only.
	BuildTag string
	// Title is the test's text, for people (the spec's leaf text).
	Title string
}

// Step is a step of the rollout article (the seed) the suite comes from.
type Step string

// The seed's steps, in its order, and the suite's steps beyond it.
const (
	SeedInstall       Step = "Phase 1: Install Istio with Ambient Mode"
	SeedEnroll        Step = "Phase 2: Enable Ambient for One Namespace"
	SeedVerifyL4      Step = "Phase 3: Verify L4 Security"
	SeedWaypoint      Step = "Phase 4: Add Waypoint for L7 Features"
	SeedExpand        Step = "Phase 5: Expand Gradually (test rollback)"
	SeedPolicy        Step = "Policy and Security Basics"
	SeedPerformance   Step = "Cost and Performance; Latency Considerations"
	SeedDebugFlows    Step = "Debug Flows"
	SeedBeyondUpgrade Step = "beyond the seed: upgrades (ztunnel restarted in place)"
)

// Label prefixes and labels derived from a Test.
const (
	// IDPrefix starts the label that carries a test's ID, e.g.
	// "id:L4-WIRE-NO-PLAINTEXT".
	IDPrefix = runinfo.IDPrefix
	// LabelDisruptive marks a disruptive test.
	LabelDisruptive = runinfo.LabelDisruptive
)

func evidence(kinds ...string) []string { return kinds }

// Evidence kinds, short for the table below.
const (
	Observed = runinfo.EvidenceObserved
	Mesh     = runinfo.EvidenceMesh
)

// tests is the catalogue, grouped as the suite's containers group them.
var tests = []Test{
	// Phase 1: install Istio with the ambient profile
	{ID: "INSTALL-ISTIOD-READY", Profile: runinfo.ProfileInstall, Claim: "control-plane", Evidence: evidence(Mesh), Seed: SeedInstall, Title: "istiod is ready"},
	{ID: "INSTALL-ZTUNNEL-PER-NODE", Profile: runinfo.ProfileInstall, Claim: "node-proxies", Evidence: evidence(Mesh), Seed: SeedInstall, Title: "the ztunnel DaemonSet has exactly one ready pod per schedulable node"},
	{ID: "INSTALL-CNI-PER-NODE", Profile: runinfo.ProfileInstall, Claim: "node-proxies", Evidence: evidence(Mesh), Seed: SeedInstall, Title: "istio-cni is ready on every node"},
	{ID: "INSTALL-VERSION", Profile: runinfo.ProfileInstall, Claim: "version", Evidence: evidence(Observed), Seed: SeedInstall, Needs: "ISTIO_VERSION (or the version of the install)", Title: "the running version equals ISTIO_VERSION"},
	{ID: "INSTALL-GATEWAY-API-CRDS", Profile: runinfo.ProfileInstall, Claim: "gateway-api", Evidence: evidence(Observed), Seed: SeedInstall, Title: "the Gateway API CRDs waypoints need are installed"},

	// Phase 2: enable ambient for one namespace
	{ID: "ENROLL-TRAFFIC-BEFORE", Profile: runinfo.ProfileEnroll, Claim: "traffic", Evidence: evidence(Observed), Seed: SeedEnroll, Title: "the client reaches the server before enrollment"},
	{ID: "ENROLL-NAMESPACE-LABEL", Profile: runinfo.ProfileEnroll, Claim: "enrollment", Evidence: evidence(Mesh), Seed: SeedEnroll, Title: "labelling the namespace istio.io/dataplane-mode=ambient enrolls every pod within ENROLL_TIMEOUT"},
	{ID: "ENROLL-POD-OPT-OUT", Profile: runinfo.ProfileEnroll, Claim: "enrollment", Evidence: evidence(Mesh), Seed: SeedEnroll, Title: "a pod labelled istio.io/dataplane-mode=none is not enrolled"},
	{ID: "ENROLL-NO-RESTART", Profile: runinfo.ProfileEnroll, Claim: "no-restart", Evidence: evidence(Observed), Seed: SeedEnroll, Title: "no pod restarted"},
	{ID: "ENROLL-TRAFFIC-AFTER", Profile: runinfo.ProfileEnroll, Claim: "traffic", Evidence: evidence(Observed), Seed: SeedEnroll, Title: "the client still reaches the server after enrollment"},

	// istio-cni with no ztunnel: an enrollment that cannot complete fails closed and rolls back
	{ID: "ENROLL-NO-ZTUNNEL-CONTROL", Profile: runinfo.ProfileEnroll, Claim: "fail-closed", Evidence: evidence(Observed), Seed: SeedEnroll, BuildTag: "controlplane", Title: "control: before enrollment the server answers a client outside the mesh by its pod IP, and the client in the namespace reaches a peer"},
	{ID: "ENROLL-NO-ZTUNNEL-PENDING", Profile: runinfo.ProfileEnroll, Claim: "fail-closed", Evidence: evidence(Mesh), Seed: SeedEnroll, BuildTag: "controlplane", Title: "labelling the namespace ambient with no ztunnel marks every pod ambient.istio.io/redirection=pending, never enabled"},
	{ID: "ENROLL-NO-ZTUNNEL-NOT-READY", Profile: runinfo.ProfileEnroll, Claim: "fail-closed", Evidence: evidence(Observed), Seed: SeedEnroll, BuildTag: "controlplane", Title: "a pending pod fails its kubelet readiness probe (connection refused) and leaves its Service's ready endpoints"},
	{ID: "ENROLL-NO-ZTUNNEL-INBOUND-CLOSED", Profile: runinfo.ProfileEnroll, Claim: "fail-closed", Evidence: evidence(Observed), Seed: SeedEnroll, BuildTag: "controlplane", Title: "traffic to a pending pod fails closed: a client outside the mesh gets no answer from it, never the server's plaintext reply"},
	{ID: "ENROLL-NO-ZTUNNEL-OUTBOUND-CLOSED", Profile: runinfo.ProfileEnroll, Claim: "fail-closed", Evidence: evidence(Observed), Seed: SeedEnroll, BuildTag: "controlplane", Title: "traffic from a pending pod fails closed too: its connections go to ztunnel's port, where nothing listens"},
	{ID: "ENROLL-NO-ZTUNNEL-ROLLBACK", Profile: runinfo.ProfileEnroll, Claim: "rollback", Evidence: evidence(Mesh, Observed), Seed: SeedEnroll, BuildTag: "controlplane", Title: "removing the namespace label removes the annotation and restores traffic, with no pod restarted"},

	// Debug flow: the seed's six checks (ambient-e2e doctor) on an enrolled namespace
	{ID: "DEBUG-FLOW-KUBERNETES-STEPS", Profile: runinfo.ProfileEnroll, Claim: "debug-flow", Evidence: evidence(Observed), Seed: SeedDebugFlows, Title: "control: the Kubernetes steps pass (the API server answers, the namespace exists and is labelled istio.io/dataplane-mode=ambient)"},
	{ID: "DEBUG-FLOW-MESH-STEPS", Profile: runinfo.ProfileEnroll, Claim: "debug-flow", Evidence: evidence(Mesh), Seed: SeedDebugFlows, Title: "every step of the seed's debug flow passes: identity, ztunnel interception, waypoint, policies, CNI"},

	// Phase 3: verify L4 security — mTLS proven by identity / client and server on different nodes
	{ID: "L4-MTLS-OUTBOUND-LOG-CROSS-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "the client node's ztunnel logs each connection outbound with both SPIFFE identities, to port 15008"},
	{ID: "L4-MTLS-INBOUND-LOG-CROSS-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "the server node's ztunnel logs each connection inbound with both SPIFFE identities"},
	{ID: "L4-MTLS-METRIC-CROSS-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "istio_tcp_connections_opened_total{connection_security_policy=mutual_tls} grows by ≥ 5 at both ztunnels"},

	// Phase 3: verify L4 security — mTLS proven by identity / client and server on the same node
	{ID: "L4-MTLS-OUTBOUND-LOG-SAME-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "the client node's ztunnel logs each connection outbound with both SPIFFE identities, to port 15008"},
	{ID: "L4-MTLS-INBOUND-LOG-SAME-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "the server node's ztunnel logs each connection inbound with both SPIFFE identities"},
	{ID: "L4-MTLS-METRIC-SAME-NODE", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedVerifyL4, Title: "istio_tcp_connections_opened_total{connection_security_policy=mutual_tls} grows by ≥ 5 at both ztunnels"},

	// Phase 3: verify L4 security — mTLS on the wire
	{ID: "L4-WIRE-SNIFFER-CONTROL", Profile: runinfo.ProfileL4, Claim: "sniffer-sanity", Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "sanity: the sniffer sees the plaintext canary between two pods outside the mesh"},
	{ID: "L4-WIRE-NO-PLAINTEXT", Profile: runinfo.ProfileL4, Claim: "mtls", Evidence: evidence(Observed), Seed: SeedVerifyL4, Title: "no canary crosses the wire in plaintext between mesh pods, and TLS records cross on port 15008"},

	// Policy and security basics: a policy change and connections already open / a new DENY bound to the backend with a selector (the seed's form)
	{ID: "L4-AUTHZ-CLOSES-OPEN-SELECTOR", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "closes an open connection it no longer allows (the backend's ztunnel logs the close), an allowed one stays open, and the time to close is reported"},

	// Policy and security basics: a policy change and connections already open / a new DENY for the whole namespace (no selector)
	{ID: "L4-AUTHZ-CLOSES-OPEN-NAMESPACE", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "closes an open connection it no longer allows (the backend's ztunnel logs the close), an allowed one stays open, and the time to close is reported"},

	// Policy and security basics: STRICT mTLS rejects plaintext
	{ID: "L4-STRICT-CONTROL-PERMISSIVE", Profile: runinfo.ProfileL4, Claim: "strict-mtls", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "control: without a PeerAuthentication (PERMISSIVE) a client outside the mesh gets 200"},
	{ID: "L4-STRICT-REFUSES-PLAINTEXT", Profile: runinfo.ProfileL4, Claim: "strict-mtls", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "with PeerAuthentication STRICT a client outside the mesh is refused on every new connection (a reset or EOF; the backend's ztunnel logs istiod's static strict DENY)"},
	{ID: "L4-STRICT-MESH-CLIENT-OK", Profile: runinfo.ProfileL4, Claim: "strict-mtls", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "with PeerAuthentication STRICT a client in the mesh gets 200"},

	// Policy and security basics: denied connections are counted
	{ID: "L4-AUTHZ-DENIED-METRIC", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh), Seed: SeedPolicy, Needs: "Istio with the tcpConnectionsFailedMetric feature (1.29 and later)", Title: "a connection denied by ztunnel increments istio_tcp_connections_failed_total at the destination"},

	// Policy and security basics: L4 AuthorizationPolicy enforced by ztunnel / an explicit DENY of the identity other
	{ID: "L4-AUTHZ-DENY-OTHER-OTHER-REFUSED", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "other → backend is refused (a reset or EOF; the backend's ztunnel logs the policy's reason), each request on a new connection"},
	{ID: "L4-AUTHZ-DENY-OTHER-FRONTEND-OK", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "frontend → backend gets 200, each request on a new connection"},
	{ID: "L4-AUTHZ-DENY-OTHER-OUTSIDE-OK", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "outside → backend gets 200, each request on a new connection"},

	// Policy and security basics: L4 AuthorizationPolicy enforced by ztunnel / the seed's allow-frontend-to-backend, applied verbatim
	{ID: "L4-AUTHZ-ALLOW-FRONTEND-OTHER-REFUSED", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "other → backend is refused (a reset or EOF; the backend's ztunnel logs the policy's reason), each request on a new connection"},
	{ID: "L4-AUTHZ-ALLOW-FRONTEND-OUTSIDE-REFUSED", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "outside → backend is refused (a reset or EOF; the backend's ztunnel logs the policy's reason), each request on a new connection"},
	{ID: "L4-AUTHZ-ALLOW-FRONTEND-FRONTEND-OK", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "frontend → backend gets 200, each request on a new connection"},

	// Policy and security basics: L4 AuthorizationPolicy enforced by ztunnel / the seed's namespace-scoped allow-internal (source.namespaces)
	{ID: "L4-AUTHZ-ALLOW-NAMESPACE-OUTSIDE-REFUSED", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "outside → backend is refused (a reset or EOF; the backend's ztunnel logs the policy's reason), each request on a new connection"},
	{ID: "L4-AUTHZ-ALLOW-NAMESPACE-FRONTEND-OK", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "frontend → backend gets 200, each request on a new connection"},
	{ID: "L4-AUTHZ-ALLOW-NAMESPACE-OTHER-OK", Profile: runinfo.ProfileL4, Claim: "l4-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "other → backend gets 200, each request on a new connection"},

	// Policy and security basics: NetworkPolicy with AuthorizationPolicy (defense in depth)
	{ID: "L4-NETPOL-CNI-CONTROL", Profile: runinfo.ProfileL4, Claim: "networkpolicy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a CNI that enforces NetworkPolicy", Title: "control: the cluster's CNI enforces NetworkPolicy on a pair outside the mesh"},
	{ID: "L4-NETPOL-ALLOWED-IDENTITY", Profile: runinfo.ProfileL4, Claim: "networkpolicy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a CNI that enforces NetworkPolicy", Title: "with default-deny, the ambient allows and allow-frontend-to-backend, the allowed identity gets 200"},
	{ID: "L4-NETPOL-DISALLOWED-REFUSED-BY-AUTHZ", Profile: runinfo.ProfileL4, Claim: "networkpolicy", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Needs: "a CNI that enforces NetworkPolicy", Title: "a disallowed identity is refused by the AuthorizationPolicy (a reset or EOF, and the backend's ztunnel logs why), not dropped by a NetworkPolicy"},
	{ID: "L4-NETPOL-UNALLOWED-FLOW-DROPPED", Profile: runinfo.ProfileL4, Claim: "networkpolicy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a CNI that enforces NetworkPolicy", Title: "a flow no NetworkPolicy allows times out (a drop, not a reset)"},

	// Phase 5: roll back without restarts
	{ID: "ROLLBACK-PRECONDITION-ENROLLED", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "rollback", Evidence: evidence(Mesh), Seed: SeedExpand, Title: "precondition: every pod of the namespace is enrolled"},
	{ID: "ROLLBACK-UNLABEL-REMOVES-REDIRECTION", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "rollback", Evidence: evidence(Mesh), Seed: SeedExpand, Title: "removing istio.io/dataplane-mode under load removes the redirection annotation within ENROLL_TIMEOUT"},
	{ID: "ROLLBACK-NO-RESTART", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "no-restart", Evidence: evidence(Observed), Seed: SeedExpand, Title: "after the rollback no pod restarted (UIDs, container IDs, restart counts)"},
	{ID: "ROLLBACK-TRAFFIC-AFTER", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "rollback", Evidence: evidence(Observed), Seed: SeedExpand, Title: "after the rollback new requests still succeed"},
	{ID: "ROLLBACK-PLAINTEXT-AFTER", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "rollback", Evidence: evidence(Mesh, Observed), Seed: SeedExpand, Title: "after the rollback requests travel in plaintext (the sniffer sees the canary; no new mTLS line at the server's ztunnel)"},
	{ID: "ROLLBACK-RELABEL-ENROLLS", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "rollback", Evidence: evidence(Mesh, Observed), Seed: SeedExpand, Title: "relabelling under load enrolls every pod again within ENROLL_TIMEOUT, without restarts"},
	{ID: "ROLLBACK-RELABEL-ENCRYPTED", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "mtls", Evidence: evidence(Observed), Seed: SeedExpand, Title: "after relabelling requests are encrypted again (no canary on the wire, TLS on 15008)"},

	// Upgrade: ztunnel restarted under traffic (the mechanism of an in-place ztunnel upgrade)
	{ID: "UPGRADE-ZTUNNEL-RESTART-ROLLOUT", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "ztunnel-restart", Evidence: evidence(Observed), Seed: SeedBeyondUpgrade, Title: "a rolling restart of the ztunnel DaemonSet completes under traffic: every ztunnel pod replaced by a ready one"},
	{ID: "UPGRADE-ZTUNNEL-RESTART-NO-PLAINTEXT", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "mtls", Evidence: evidence(Observed), Seed: SeedBeyondUpgrade, Title: "no plaintext crossed the wire at any moment of the restart: the stream's canary never seen, TLS records on 15008 (with the sniffer's plaintext control)"},
	{ID: "UPGRADE-ZTUNNEL-RESTART-HELD-CONNECTIONS", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "ztunnel-restart", Evidence: evidence(Observed), Seed: SeedBeyondUpgrade, Title: "each held connection is accounted for: it survived the rollout or broke during it, never before it (Istio: an in-place ztunnel upgrade resets long-lived TCP)"},
	{ID: "UPGRADE-ZTUNNEL-RESTART-NEW-CONNECTIONS", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "restart-budget", Evidence: evidence(Observed), Seed: SeedBeyondUpgrade, Needs: "a ztunnel restart budget in the budgets profile", Title: "new connections during the rollout fail at most at the budget's rate (Istio's TestZtunnelRestart: 90% succeed); none before it"},
	{ID: "UPGRADE-ZTUNNEL-RESTART-MTLS-AFTER", Profile: runinfo.ProfileL4, Disruptive: true, Claim: "mtls", Evidence: evidence(Mesh), Seed: SeedBeyondUpgrade, Title: "after the rollout the mesh is back to full mTLS: every new connection after it succeeded, and a new one is logged with both SPIFFE identities on 15008 by the new ztunnels"},

	// Phase 4: add a waypoint for L7 features
	{ID: "L7-WAYPOINT-CONTROL-L4-ONLY", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "control: before any waypoint, frontend → api is L4 only (no X-Request-Id at the server)"},
	{ID: "L7-WAYPOINT-PROGRAMMED", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Mesh), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "a waypoint created through the API (Gateway, class istio-waypoint, listener mesh 15008 HBONE) is Programmed, with its Service on 15008"},
	{ID: "L7-WAYPOINT-POD-READY", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "the waypoint's pod, selected by gateway.networking.k8s.io/gateway-name, becomes ready"},
	{ID: "L7-WAYPOINT-UNUSED-WITHOUT-LABEL", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "without istio.io/use-waypoint nothing uses it: traffic stays L4"},
	{ID: "L7-WAYPOINT-NAMESPACE-USE", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "with istio.io/use-waypoint on the namespace, frontend → api goes through the waypoint (X-Request-Id at the server)"},
	{ID: "L7-WAYPOINT-BOUND-CONDITION", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Mesh), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "the Service api gets istio.io/WaypointBound=True"},
	{ID: "L7-WAYPOINT-TELEMETRY", Profile: runinfo.ProfileL7, Claim: "waypoint-telemetry", Evidence: evidence(Mesh), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "the waypoint counts the requests in istio_requests_total{reporter=\"waypoint\"} with both principals, the Service and response_code 200"},
	{ID: "L7-WAYPOINT-UNLABEL-RETURNS-L4", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "removing the label returns traffic to L4, and no pod restarted"},
	{ID: "L7-WAYPOINT-SERVICE-USE", Profile: runinfo.ProfileL7, Claim: "waypoint", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "with istio.io/use-waypoint on the Service alone, traffic goes through the waypoint again"},

	// Phase 4: istio.io/waypoint-for decides which traffic a waypoint takes
	{ID: "L7-WAYPOINT-FOR-SERVICE-BY-SERVICE", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=service, use-waypoint on the service, called by Service name → L7"},
	{ID: "L7-WAYPOINT-FOR-SERVICE-BY-POD-IP", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=service, use-waypoint on the pod, called by pod IP → L4"},
	{ID: "L7-WAYPOINT-FOR-WORKLOAD-BY-POD-IP", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=workload, use-waypoint on the pod, called by pod IP → L7"},
	{ID: "L7-WAYPOINT-FOR-WORKLOAD-BY-SERVICE", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=workload, use-waypoint on the service, called by Service name → L4"},
	{ID: "L7-WAYPOINT-FOR-ALL-BY-SERVICE", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=all, use-waypoint on the service, called by Service name → L7"},
	{ID: "L7-WAYPOINT-FOR-ALL-BY-POD-IP", Profile: runinfo.ProfileL7, Claim: "waypoint-for", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "waypoint-for=all, use-waypoint on the pod, called by pod IP → L7"},

	// Phase 4: the waypoint CLI
	{ID: "L7-WAYPOINT-CLI-APPLY", Profile: runinfo.ProfileL7, Claim: "waypoint-cli", Evidence: evidence(Mesh, Observed), Seed: SeedWaypoint, Needs: "istioctl", Title: "istioctl waypoint apply creates the same Gateway, and it is Programmed"},

	// Phase 4: a Service whose waypoint is missing fails closed
	{ID: "L7-WAYPOINT-MISSING-CONTROL", Profile: runinfo.ProfileL7, Claim: "waypoint-fail-closed", Evidence: evidence(Observed), Seed: SeedWaypoint, Title: "control: with no istio.io/use-waypoint, frontend → api gets 200 from api on every new connection, and api counts each one it served"},
	{ID: "L7-WAYPOINT-MISSING-SCALED-TO-ZERO", Profile: runinfo.ProfileL7, Claim: "waypoint-fail-closed", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "bound with istio.io/use-waypoint to a waypoint whose proxy cannot run (its Deployment scaled to 0), no request reaches api: every new connection fails and api serves none"},
	{ID: "L7-WAYPOINT-MISSING-DELETED", Profile: runinfo.ProfileL7, Claim: "waypoint-fail-closed", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "with its waypoint deleted and istio.io/use-waypoint still on the Service, no request reaches api for POLICY_TIMEOUT: every new connection fails and api serves none"},
	{ID: "L7-WAYPOINT-MISSING-RESTORED", Profile: runinfo.ProfileL7, Claim: "waypoint-fail-closed", Evidence: evidence(Observed), Seed: SeedWaypoint, Title: "control: removing istio.io/use-waypoint from the Service restores 200 from api"},

	// Phase 4: HTTPRoute on the Service, applied by the waypoint
	{ID: "L7-ROUTE-CONTROL-BACKENDS", Profile: runinfo.ProfileL7, Claim: "httproute", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "control: api-v1 and api-v2 answer on their own Services"},
	{ID: "L7-ROUTE-PATH-MATCH", Profile: runinfo.ProfileL7, Claim: "httproute", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "a path rule sends /v2/… to api-v2"},
	{ID: "L7-ROUTE-HEADER-MODIFIER", Profile: runinfo.ProfileL7, Claim: "httproute", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "every other path goes to api-v1 with the header the route's RequestHeaderModifier adds"},
	{ID: "L7-ROUTE-WEIGHTED-SPLIT", Profile: runinfo.ProfileL7, Claim: "httproute", Evidence: evidence(Observed), Seed: SeedWaypoint, Needs: "a waypoint proxy (Envoy)", Title: "an 80/20 weighted split lands within its binomial bound"},

	// Phase 4: CUSTOM ext-authz at the waypoint (the seed's rate-limit-api)
	{ID: "L7-EXTAUTHZ-PROVIDER-LOADED", Profile: runinfo.ProfileL7, Claim: "ext-authz", Evidence: evidence(Mesh), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "istiod takes the provider from the mesh config without a restart: its active mesh config lists envoy-ext-authz-http"},
	{ID: "L7-EXTAUTHZ-API-DENIED", Profile: runinfo.ProfileL7, Claim: "ext-authz", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "/api/* without the allow header → 403 from the ext-authz server"},
	{ID: "L7-EXTAUTHZ-API-ALLOWED", Profile: runinfo.ProfileL7, Claim: "ext-authz", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "/api/* with x-ext-authz: allow → 200 through the waypoint"},
	{ID: "L7-EXTAUTHZ-OTHER-PATHS-OK", Profile: runinfo.ProfileL7, Claim: "ext-authz", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "other paths → 200 through the waypoint"},
	{ID: "L7-EXTAUTHZ-ASKED-ONLY-FOR-API", Profile: runinfo.ProfileL7, Claim: "ext-authz", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "the ext-authz server was asked about /api/* and never about other paths"},

	// Phase 4: the seed's L7 policy bound with selector fails closed
	{ID: "L7-MISBOUND-CONTROL", Profile: runinfo.ProfileL7, Claim: "l7-policy-misbound", Evidence: evidence(Observed), Seed: SeedPolicy, Title: "control: before the policy, frontend → api gets 200"},
	{ID: "L7-MISBOUND-FAILS-CLOSED", Profile: runinfo.ProfileL7, Claim: "l7-policy-misbound", Evidence: evidence(Mesh, Observed), Seed: SeedPolicy, Title: "the seed's require-jwt (selector app: api, no waypoint) refuses every connection: a reset or EOF, and api's ztunnel logs that no ALLOW matched"},
	{ID: "L7-MISBOUND-STATUS", Profile: runinfo.ProfileL7, Claim: "l7-policy-misbound", Evidence: evidence(Mesh), Seed: SeedPolicy, Title: "istiod says so on the policy: ZtunnelAccepted, reason UnsupportedValue, \"ztunnel does not support HTTP attributes\""},

	// Phase 4: JWT at the waypoint (the seed's require-jwt, bound with targetRefs)
	{ID: "L7-JWT-VALID-OK", Profile: runinfo.ProfileL7, Claim: "jwt", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "a valid token → 200 through the waypoint"},
	{ID: "L7-JWT-MISSING-DENIED", Profile: runinfo.ProfileL7, Claim: "jwt", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "no token → 403"},
	{ID: "L7-JWT-UNKNOWN-ISSUER-UNAUTHORIZED", Profile: runinfo.ProfileL7, Claim: "jwt", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "a token from an issuer the RequestAuthentication does not name → 401"},
	{ID: "L7-JWT-EXPIRED-UNAUTHORIZED", Profile: runinfo.ProfileL7, Claim: "jwt", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "an expired token → 401"},
	{ID: "L7-JWT-OTHER-SUBJECT-DENIED", Profile: runinfo.ProfileL7, Claim: "jwt", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "a valid token for another subject → 403"},

	// Phase 4: L7 AuthorizationPolicy enforced by the waypoint / bound to the Service with targetRefs
	{ID: "L7-AUTHZ-SERVICE-GET-API-OK", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "GET /api/items → 200 through the waypoint"},
	{ID: "L7-AUTHZ-SERVICE-POST-API-DENIED", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "POST /api/items → 403 RBAC: access denied"},
	{ID: "L7-AUTHZ-SERVICE-GET-ADMIN-DENIED", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "GET /admin → 403 RBAC: access denied"},

	// Phase 4: L7 AuthorizationPolicy enforced by the waypoint / bound to the waypoint Gateway with targetRefs
	{ID: "L7-AUTHZ-GATEWAY-GET-API-OK", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "GET /api/items → 200 through the waypoint"},
	{ID: "L7-AUTHZ-GATEWAY-POST-API-DENIED", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "POST /api/items → 403 RBAC: access denied"},
	{ID: "L7-AUTHZ-GATEWAY-GET-ADMIN-DENIED", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "GET /admin → 403 RBAC: access denied"},

	// Phase 4: L7 AuthorizationPolicy enforced by the waypoint / a selector ALLOW at the destination must also allow the waypoint's identity
	{ID: "L7-AUTHZ-SELECTOR-PRECONDITION", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "precondition: frontend → api goes through the waypoint"},
	{ID: "L7-AUTHZ-SELECTOR-BREAKS-WAYPOINT", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "the seed's allow-frontend-to-api (frontend only) breaks traffic through the waypoint: 503 or reset"},
	{ID: "L7-AUTHZ-SELECTOR-ALLOW-WAYPOINT-RESTORES", Profile: runinfo.ProfileL7, Claim: "l7-policy", Evidence: evidence(Observed), Seed: SeedPolicy, Needs: "a waypoint proxy (Envoy)", Title: "allowing the waypoint's identity too restores it"},

	// Latency and resource budgets: no mesh, L4 and waypoint on the same pods
	{ID: "PERF-CONTROL-NO-MESH-LOAD", Profile: runinfo.ProfilePerf, Claim: "latency", Evidence: evidence(Observed), Seed: SeedPerformance, Title: "control: with no mesh (not enrolled: no redirection annotation, no X-Request-Id) the HTTP load runs and is measured in 10 µs buckets"},
	{ID: "PERF-CONTROL-RESOURCES-READ", Profile: runinfo.ProfilePerf, Claim: "resources", Evidence: evidence(Observed), Seed: SeedPerformance, Title: "control: CPU and memory of the probe pods are read from the kubelets' cAdvisor endpoints through the API server"},
	{ID: "PERF-L4-MODE-PROVEN", Profile: runinfo.ProfilePerf, Claim: "latency", Evidence: evidence(Mesh), Seed: SeedPerformance, Title: "L4 mode is proven on the same pods: the redirection annotation on both, no X-Request-Id at the server"},
	{ID: "PERF-WAYPOINT-MODE-PROVEN", Profile: runinfo.ProfilePerf, Claim: "latency", Evidence: evidence(Observed), Seed: SeedPerformance, Title: "waypoint mode is proven on the same pods: X-Request-Id at the server"},
	{ID: "PERF-INTERLEAVED-TRIALS", Profile: runinfo.ProfilePerf, Claim: "latency", Evidence: evidence(Observed), Seed: SeedPerformance, Title: "interleaved trials of none, none (A/A), L4 and waypoint: per-trial percentiles, shifts over none with 95% intervals, the noise floor"},
	{ID: "PERF-L4-LATENCY-BUDGET", Profile: runinfo.ProfilePerf, Claim: "latency-budget", Evidence: evidence(Observed), Seed: SeedPerformance, Needs: "a latency budget in the budgets profile", Title: "L4 adds at most its latency budget (the 95% interval's upper bound within it; the seed: <1 ms)"},
	{ID: "PERF-WAYPOINT-LATENCY-BUDGET", Profile: runinfo.ProfilePerf, Claim: "latency-budget", Evidence: evidence(Observed), Seed: SeedPerformance, Needs: "a waypoint proxy; a latency budget in the budgets profile", Title: "the waypoint adds at most its latency budget (the seed: 2-5 ms)"},
	{ID: "PERF-L4-TCP-RR-CRR", Profile: runinfo.ProfilePerf, Evidence: evidence(Observed), Seed: SeedPerformance, Title: "TCP round trips on one connection (TCP_RR) and connection set-up (TCP_CRR): L4's added latency, with its interval"},
	{ID: "PERF-ZTUNNEL-RESOURCE-BUDGET", Profile: runinfo.ProfilePerf, Claim: "resource-budget", Evidence: evidence(Observed), Seed: SeedPerformance, Needs: "a resource budget in the budgets profile", Title: "ztunnel's CPU per 1000 rps and memory stay within budget (the seed: ~0.1 CPU, ~50 MB)"},
	{ID: "PERF-WAYPOINT-RESOURCE-BUDGET", Profile: runinfo.ProfilePerf, Claim: "resource-budget", Evidence: evidence(Observed), Seed: SeedPerformance, Needs: "a waypoint proxy; a resource budget in the budgets profile", Title: "the waypoint's CPU per 1000 rps and memory stay within budget (the seed: ~0.2 CPU, ~100 MB)"},
}

var idPattern = regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9]+)*$`)

// Tests returns the catalogue in report order (a copy).
func Tests() []Test { return slices.Clone(tests) }

// Lookup returns the test with this ID.
func Lookup(id string) (Test, bool) {
	for _, t := range tests {
		if t.ID == id {
			return t, true
		}
	}
	return Test{}, false
}

// MustLookup returns the test with this ID and panics without one: a spec
// registered under an ID the catalogue does not declare stops the suite's
// tree from being built (make test's dry run fails).
func MustLookup(id string) Test {
	t, ok := Lookup(id)
	if !ok {
		panic(fmt.Sprintf("conformance test %q is not in the catalogue (suites/catalogue): declare it there first", id))
	}
	return t
}

// Labels are the Ginkgo labels a test's spec carries, all derived: its ID,
// profile, evidence kinds, claim and disruptive.
func (t Test) Labels() []string {
	l := []string{IDPrefix + t.ID, t.Profile}
	if t.Disruptive {
		l = append(l, LabelDisruptive)
	}
	l = append(l, t.Evidence...)
	if t.Claim != "" {
		l = append(l, runinfo.ClaimPrefix+t.Claim)
	}
	return l
}

// Validate checks the catalogue itself: IDs well formed and unique, a known
// profile, at least one evidence kind, a seed step and a title.
func Validate(ts []Test) []string {
	var problems []string
	seen := map[string]bool{}
	for _, t := range ts {
		switch {
		case !idPattern.MatchString(t.ID):
			problems = append(problems, fmt.Sprintf("%q: an ID is upper-case words joined by hyphens", t.ID))
		case seen[t.ID]:
			problems = append(problems, fmt.Sprintf("%s: declared twice", t.ID))
		}
		seen[t.ID] = true
		if !slices.Contains(runinfo.Profiles, t.Profile) {
			problems = append(problems, fmt.Sprintf("%s: profile %q is not one of %v", t.ID, t.Profile, runinfo.Profiles))
		}
		if len(t.Evidence) == 0 {
			problems = append(problems, fmt.Sprintf("%s: no evidence kind", t.ID))
		}
		for _, e := range t.Evidence {
			if e != Observed && e != Mesh {
				problems = append(problems, fmt.Sprintf("%s: evidence %q is neither %s nor %s", t.ID, e, Observed, Mesh))
			}
		}
		if t.Seed == "" || t.Title == "" {
			problems = append(problems, fmt.Sprintf("%s: a test needs its seed step and its title", t.ID))
		}
	}
	return problems
}

// Spec is a spec as a dry run of the suite reports it.
type Spec struct {
	Text   string   // the full text
	Labels []string // container and leaf labels
}

// Check compares the specs of a dry run built with the given build tags
// with the catalogue: every spec carries exactly one ID the catalogue
// declares and the labels derived from it (no profile, claim or evidence
// label of its own), no two specs share an ID, and every test of the
// catalogue for these tags has its spec.
func Check(ts []Test, specs []Spec, buildTags []string) []string {
	var problems []string
	byID := map[string]Test{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	derivedKinds := func(l string) bool {
		return strings.HasPrefix(l, IDPrefix) || strings.HasPrefix(l, runinfo.ClaimPrefix) || strings.HasPrefix(l, "evidence:") ||
			slices.Contains(runinfo.Profiles, l) || l == LabelDisruptive
	}
	specOf := map[string]string{}
	for _, s := range specs {
		var ids []string
		for _, l := range s.Labels {
			if id, ok := strings.CutPrefix(l, IDPrefix); ok && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) != 1 {
			problems = append(problems, fmt.Sprintf("spec %q: %d catalogue IDs (%v); register every spec from the catalogue (spec(ID, ...))", s.Text, len(ids), ids))
			continue
		}
		t, ok := byID[ids[0]]
		if !ok {
			problems = append(problems, fmt.Sprintf("spec %q: ID %s is not in the catalogue", s.Text, ids[0]))
			continue
		}
		if other, dup := specOf[t.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s: registered by two specs, %q and %q", t.ID, other, s.Text))
		}
		specOf[t.ID] = s.Text
		want := t.Labels()
		for _, l := range s.Labels {
			if derivedKinds(l) && !slices.Contains(want, l) {
				problems = append(problems, fmt.Sprintf("%s: label %q is not derived from its catalogue entry (want %v)", t.ID, l, want))
			}
		}
		if !strings.HasSuffix(s.Text, t.Title) {
			problems = append(problems, fmt.Sprintf("%s: spec text %q does not end with the catalogue's title %q", t.ID, s.Text, t.Title))
		}
	}
	for _, t := range ts {
		if t.BuildTag != "" && !slices.Contains(buildTags, t.BuildTag) {
			continue
		}
		if _, ok := specOf[t.ID]; !ok {
			problems = append(problems, fmt.Sprintf("%s: in the catalogue, but no spec registers it (%q)", t.ID, t.Title))
		}
	}
	return problems
}
