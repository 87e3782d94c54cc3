package evidence

import (
	"strconv"
	"strings"
)

// Test fixtures in the formats ztunnel and Envoy really write.

// ztunnelScrapeTmpl is a ztunnel /metrics body as written by
// prometheus-client's OpenMetrics text encoder (ztunnel
// src/metrics/server.rs calls prometheus_client::encoding::text::encode and
// serves it as "text/plain; charset=utf-8" unless asked for OpenMetrics).
// Families and label order: src/proxy/metrics.rs (CommonTrafficLabels,
// registered under the "istio" prefix, src/metrics.rs), src/metrics/meta.rs
// (istio_build), src/dns/metrics.rs (histogram with unit); the encoder
// appends "." to HELP texts and "_total" to counter samples.
const ztunnelScrapeTmpl = `# HELP istio_build Istio component build info.
# TYPE istio_build gauge
istio_build{component="ztunnel",tag="1.28.1"} 1
# HELP istio_tcp_connections_opened The total number of TCP connections opened.
# TYPE istio_tcp_connections_opened counter
istio_tcp_connections_opened_total{reporter="source",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} @SRC_MTLS@
istio_tcp_connections_opened_total{reporter="destination",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} @DST_MTLS@
istio_tcp_connections_opened_total{reporter="destination",source_workload="outsider",source_canonical_service="outsider",source_canonical_revision="latest",source_workload_namespace="legacy",source_principal="unknown",source_app="outsider",source_version="latest",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="unknown",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} @DST_PLAIN@
# HELP istio_tcp_connections_closed The total number of TCP connections closed.
# TYPE istio_tcp_connections_closed counter
istio_tcp_connections_closed_total{reporter="source",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 4
# HELP istio_tcp_received_bytes The size of total bytes received during request in case of a TCP connection.
# TYPE istio_tcp_received_bytes counter
istio_tcp_received_bytes_total{reporter="source",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 1132
# HELP istio_tcp_sent_bytes The size of total bytes sent during response in case of a TCP connection.
# TYPE istio_tcp_sent_bytes counter
istio_tcp_sent_bytes_total{reporter="source",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 1432
# HELP istio_tcp_connections_failed The total number of TCP connections that failed to establish (unstable).
# TYPE istio_tcp_connections_failed counter
# HELP istio_tcp_sockets_open The current number of open TCP sockets (unstable).
# TYPE istio_tcp_sockets_open gauge
istio_tcp_sockets_open{reporter="source"} 0
istio_tcp_sockets_open{reporter="destination"} 0
# HELP istio_dns_upstream_request_duration_seconds Total time in seconds Istio takes to get DNS response from upstream (unstable).
# TYPE istio_dns_upstream_request_duration_seconds histogram
# UNIT istio_dns_upstream_request_duration_seconds seconds
istio_dns_upstream_request_duration_seconds_sum{request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 0.004
istio_dns_upstream_request_duration_seconds_count{request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
istio_dns_upstream_request_duration_seconds_bucket{le="0.0005",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 0
istio_dns_upstream_request_duration_seconds_bucket{le="0.001",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 0
istio_dns_upstream_request_duration_seconds_bucket{le="0.01",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
istio_dns_upstream_request_duration_seconds_bucket{le="0.1",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
istio_dns_upstream_request_duration_seconds_bucket{le="1.0",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
istio_dns_upstream_request_duration_seconds_bucket{le="5.0",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
istio_dns_upstream_request_duration_seconds_bucket{le="+Inf",request_query_type="a",request_protocol="udp",source_canonical_service="client",source_canonical_revision="v1"} 2
# HELP workload_manager_active_proxy_count The total number current workloads with active proxies (unstable).
# TYPE workload_manager_active_proxy_count gauge
workload_manager_active_proxy_count 3
# EOF
`

// ztunnelScrape fills ztunnelScrapeTmpl: the values of
// istio_tcp_connections_opened_total for client->server mTLS as seen by the
// source ztunnel, by the destination ztunnel, and plaintext
// outsider->server as seen by the destination ztunnel.
func ztunnelScrape(srcMTLS, dstMTLS, dstPlain int) string {
	return strings.NewReplacer(
		"@SRC_MTLS@", strconv.Itoa(srcMTLS),
		"@DST_MTLS@", strconv.Itoa(dstMTLS),
		"@DST_PLAIN@", strconv.Itoa(dstPlain),
	).Replace(ztunnelScrapeTmpl)
}

// ztunnelScrapeText is the same scrape in the classic Prometheus text
// format (version 0.0.4): counters are declared under their "_total" name,
// and there is no "# UNIT" and no "# EOF".
func ztunnelScrapeText(srcMTLS, dstMTLS, dstPlain int) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(ztunnelScrape(srcMTLS, dstMTLS, dstPlain), "\n") {
		f := strings.Fields(l)
		switch {
		case l == "" || strings.HasPrefix(l, "# EOF") || strings.HasPrefix(l, "# UNIT"):
			continue
		case len(f) >= 3 && (f[1] == "TYPE" || f[1] == "HELP") &&
			strings.Contains(ztunnelScrapeTmpl, "# TYPE "+f[2]+" counter\n"):
			l = strings.Replace(l, f[2], f[2]+"_total", 1)
		}
		b.WriteString(l)
	}
	return b.String()
}

// Access-log fixtures. Layout: ztunnel src/telemetry.rs (IstioFormat, tab
// separated "<time> <level> <target> <message>" then k=v, Rust Debug
// quoting); fields and messages: src/proxy/metrics.rs; errors:
// src/proxy.rs; the policy-update close: src/proxy/connection_manager.rs,
// logged inside the inpod "proxy" span (src/inpod/statemanager.rs).

// factsExampleLine is the example of docs/istio-facts.md §5.1 verbatim (bookinfo,
// productpage -> details, outbound).
const factsExampleLine = "2025-01-23T05:07:25.806642Z\tinfo\taccess\tconnection complete\tsrc.addr=10.129.0.48:40978 src.workload=\"productpage-v1-…\" src.namespace=\"bookinfo\" src.identity=\"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage\" dst.addr=10.129.0.43:15008 dst.hbone_addr=10.129.0.43:9080 dst.service=\"details.bookinfo.svc.cluster.local\" dst.workload=\"details-v1-…\" dst.namespace=\"bookinfo\" dst.identity=\"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details\" direction=\"outbound\" bytes_sent=283 bytes_recv=358 duration=\"2ms\""

// Cross-node flow client (app/client on kind-worker, 10.244.1.7) -> server
// (app/server on kind-worker2, 10.244.2.9, port 8080), HEAD field set
// (with src.cluster / dst.cluster).
const (
	clientSA = "spiffe://cluster.local/ns/app/sa/client"
	serverSA = "spiffe://cluster.local/ns/app/sa/server"

	// outboundLine is on kind-worker's ztunnel.
	outboundLine = "2025-06-12T09:14:03.512345Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.7:51234 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"outbound\" bytes_sent=78 bytes_recv=312 duration=\"3ms\""
	// outboundJSON is outboundLine with LOG_FORMAT=json (IstioJsonFormat:
	// level, time, scope, then the event's fields; integers are numbers).
	outboundJSON = `{"level":"info","time":"2025-06-12T09:14:03.512345Z","scope":"access","message":"connection complete","src.addr":"10.244.1.7:51234","src.workload":"client-6d9f8b7c5-x2x9q","src.namespace":"app","src.identity":"spiffe://cluster.local/ns/app/sa/client","src.cluster":"Kubernetes","dst.addr":"10.244.2.9:15008","dst.hbone_addr":"10.244.2.9:8080","dst.service":"server.app.svc.cluster.local","dst.workload":"server-7c9d4f6b8-kq2lm","dst.namespace":"app","dst.identity":"spiffe://cluster.local/ns/app/sa/server","dst.cluster":"Kubernetes","direction":"outbound","bytes_sent":78,"bytes_recv":312,"duration":"3ms"}`
	// inboundLine is on kind-worker2's ztunnel: dst.addr keeps port 15008
	// (src/proxy/inbound.rs "for consistency with outbound logs").
	inboundLine = "2025-06-12T09:14:03.514001Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.7:51234 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"inbound\" bytes_sent=312 bytes_recv=78 duration=\"2ms\""
	// openedLine is the DEBUG line at connection start (access:debug).
	openedLine = "2025-06-12T09:14:03.509001Z\tdebug\taccess\tconnection opened\tsrc.addr=10.244.1.7:51234 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"outbound\""

	// plaintextInboundLine: an un-enrolled pod (legacy/outsider) reaches the
	// ambient server in PERMISSIVE mode through inbound_passthrough: no
	// identities, no hbone_addr, dst.addr on the real port.
	plaintextInboundLine = "2025-06-12T09:15:10.000101Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.12:40112 src.workload=\"outsider-5b7d9c8f4-zzv7n\" src.namespace=\"legacy\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.cluster=\"Kubernetes\" direction=\"inbound\" bytes_sent=312 bytes_recv=78 duration=\"1ms\""
	// plaintextOutboundLine: the client's ztunnel sent the flow as plain TCP
	// (the server is not enrolled).
	plaintextOutboundLine = "2025-06-12T09:15:20.000202Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.7:51999 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.cluster=\"Kubernetes\" direction=\"outbound\" bytes_sent=78 bytes_recv=312 duration=\"2ms\""

	// denyNotAllowedLine: the server's ztunnel refused the HBONE CONNECT.
	denyNotAllowedLine = "2025-06-12T09:16:00.100000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.7:51300 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"inbound\" bytes_sent=0 bytes_recv=0 duration=\"0ms\" error=\"connection closed due to policy rejection: allow policies exist, but none allowed\""
	// denyExplicitLine: a DENY policy app/deny-client matched.
	denyExplicitLine = "2025-06-12T09:16:05.200000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.7:51310 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"inbound\" bytes_sent=0 bytes_recv=0 duration=\"1ms\" error=\"connection closed due to policy rejection: explicitly denied by: app/deny-client\""
	// denyPlaintextLine: a client outside the mesh (legacy/outsider) denied
	// by an ALLOW policy at the server's ztunnel, through inbound passthrough
	// (src/proxy/inbound_passthrough.rs proxy_inbound_plaintext: the result
	// is recorded with AuthorizationPolicyDenied before anything is read):
	// no identities, no hbone_addr, dst.addr on the real port.
	denyPlaintextLine = "2025-06-12T09:16:10.300000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.12:40200 src.workload=\"outsider-5b7d9c8f4-zzv7n\" src.namespace=\"legacy\" dst.addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" direction=\"inbound\" bytes_sent=0 bytes_recv=0 duration=\"0ms\" error=\"connection closed due to policy rejection: allow policies exist, but none allowed\""
	// denyStrictLine: the same client under PeerAuthentication STRICT,
	// denied by the static DENY istiod adds in the root namespace
	// (pilot/pkg/serviceregistry/ambient/authorization.go@1.30.3
	// staticStrictPolicyName).
	denyStrictLine = "2025-06-12T09:16:12.300000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.12:40210 src.workload=\"outsider-5b7d9c8f4-zzv7n\" src.namespace=\"legacy\" dst.addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" direction=\"inbound\" bytes_sent=0 bytes_recv=0 duration=\"0ms\" error=\"connection closed due to policy rejection: explicitly denied by: istio-system/istio_converted_static_strict\""
	// deny401OutboundLine: the client's ztunnel view of the same deny.
	deny401OutboundLine = "2025-06-12T09:16:05.201000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.7:51310 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" src.cluster=\"Kubernetes\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" dst.cluster=\"Kubernetes\" direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"2ms\" error=\"http status: 401 Unauthorized\""

	// policyCloseLine: PolicyWatcher (target proxy::connection_manager, in
	// the inpod span proxy{wl=<ns>/<pod>}) closed an open connection; the
	// message is the last field, so a tab follows it.
	policyCloseLine = "2025-06-12T09:17:30.250000Z\tinfo\tproxy::connection_manager:proxy{wl=app/server-7c9d4f6b8-kq2lm}\tconnection 10.244.1.7:51400(spiffe://cluster.local/ns/app/sa/client)->10.244.2.9:8080 (Kubernetes//Pod/app/server-7c9d4f6b8-kq2lm) closed because it's no longer allowed after a policy update\t"
	// policyCloseJSON is policyCloseLine with LOG_FORMAT=json: scope is the
	// full target and the span is a nested object.
	policyCloseJSON = `{"level":"info","time":"2025-06-12T09:17:30.250000Z","scope":"ztunnel::proxy::connection_manager","message":"connection 10.244.1.7:51401(None)->10.244.2.9:8080 (Kubernetes//Pod/app/server-7c9d4f6b8-kq2lm) closed because it's no longer allowed after a policy update","proxy":{"wl":"app/server-7c9d4f6b8-kq2lm"}}`
	// policyChangeAccessLine is the access line of the connection closed above.
	policyChangeAccessLine = "2025-06-12T09:17:30.250500Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.7:51400 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.service=\"server.app.svc.cluster.local\" dst.workload=\"server-7c9d4f6b8-kq2lm\" dst.namespace=\"app\" dst.identity=\"spiffe://cluster.local/ns/app/sa/server\" direction=\"inbound\" bytes_sent=1200 bytes_recv=600 duration=\"60000ms\" error=\"connection closed due to policy change\""

	// escapedLine: quoted values with spaces, escaped quotes, backslashes,
	// a tab and a \u{..} escape (Rust Debug for str).
	escapedLine = "2025-06-12T09:18:00.000001Z\terror\taccess\tconnection complete\tsrc.addr=10.244.1.7:52000 src.workload=\"client-6d9f8b7c5-x2x9q\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"5ms\" error=\"io error: \\\"peer\\\" said \\\\ no\\tthen \\u{1b}[0m bye\""
	// earlyDenyLine: "connection failed" at WARN (log_early_deny): Display
	// addresses are bare, the error is a quoted String.
	earlyDenyLine = "2025-06-12T09:18:10.000001Z\twarn\taccess\tconnection failed\tsrc.addr=10.244.1.7:52001 dst.addr=10.244.2.9:15008 direction=\"inbound\" error=\"expected method CONNECT, got GET\""

	// truncatedLine is outboundLine cut inside a quoted value.
	truncatedLine = "2025-06-12T09:19:00.000001Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.1.7:52002 src.workload=\"client-6d9f8b7c5-x2x9q\" src.namespace=\"app\" src.identity=\"spiffe://cluster.local/ns/app/sa/client\" dst.addr=10.244.2.9:15008 dst.hbone_addr=10.244.2.9:8080 dst.identity=\"spiffe://cluster.local/ns/app/sa/ser"

	// Non-access lines: xds client inside the "xds{id=2}" span; a startup
	// line without fields; a panic and its note.
	xdsLine     = "2025-06-12T09:10:00.123456Z\tinfo\txds::client:xds{id=2}\treceived response\ttype_url=\"type.googleapis.com/istio.workload.Address\" size=4 removes=0"
	startupLine = "2025-06-12T09:09:59.000001Z\tinfo\tapp\tin-pod mode enabled\t"
	panicLine   = "thread 'tokio-runtime-worker' panicked at src/proxy/inbound.rs:212:9:"
	panicNote   = "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"
)

// mixedLog is a node's ztunnel log with access lines among others.
var mixedLog = strings.Join([]string{
	startupLine,
	xdsLine,
	"",
	openedLine,
	outboundLine,
	panicLine,
	panicNote,
	plaintextOutboundLine,
	deny401OutboundLine,
	outboundJSON,
	truncatedLine,
}, "\n") + "\n"
