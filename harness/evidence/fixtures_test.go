package evidence

// Test fixtures in the formats ztunnel and Envoy really write.

// ztunnelScrapeBefore is a ztunnel /metrics body as written by
// prometheus-client's OpenMetrics text encoder (ztunnel
// src/metrics/server.rs calls prometheus_client::encoding::text::encode and
// serves it as "text/plain; charset=utf-8" unless asked for OpenMetrics).
// Families and label order: src/proxy/metrics.rs (CommonTrafficLabels,
// registered under the "istio" prefix, src/metrics.rs), src/metrics/meta.rs
// (istio_build), src/dns/metrics.rs (histogram with unit); the encoder
// appends "." to HELP texts and "_total" to counter samples.
const ztunnelScrapeBefore = `# HELP istio_build Istio component build info.
# TYPE istio_build gauge
istio_build{component="ztunnel",tag="1.28.1"} 1
# HELP istio_tcp_connections_opened The total number of TCP connections opened.
# TYPE istio_tcp_connections_opened counter
istio_tcp_connections_opened_total{reporter="source",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 4
istio_tcp_connections_opened_total{reporter="destination",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="mutual_tls",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 4
istio_tcp_connections_opened_total{reporter="destination",source_workload="outsider",source_canonical_service="outsider",source_canonical_revision="latest",source_workload_namespace="legacy",source_principal="unknown",source_app="outsider",source_version="latest",source_cluster="Kubernetes",destination_service="server.app.svc.cluster.local",destination_service_namespace="app",destination_service_name="server",destination_workload="server",destination_canonical_service="server",destination_canonical_revision="v1",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_cluster="Kubernetes",request_protocol="tcp",response_flags="-",connection_security_policy="unknown",source_region="unknown",source_zone="unknown",destination_region="unknown",destination_zone="unknown"} 1
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
# HELP workload_manager_active_proxy_count The total number current workloads with active proxies.
# TYPE workload_manager_active_proxy_count gauge
workload_manager_active_proxy_count 3
# EOF
`
