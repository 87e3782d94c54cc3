package evidence

import (
	"strings"
	"testing"
)

// waypointScrape is what an Envoy waypoint's merged endpoint
// (:15020/stats/prometheus) serves: classic Prometheus text without HELP,
// istio_requests_total declared with its "_total" name, histograms as
// _bucket/_sum/_count (Istio stats plugin label order).
const waypointScrape = `# TYPE envoy_cluster_upstream_cx_total counter
envoy_cluster_upstream_cx_total{cluster_name="inbound-vip|8080|http|server.app.svc.cluster.local"} 3
# TYPE istio_requests_total counter
istio_requests_total{reporter="waypoint",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_workload="server",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_service="server.app.svc.cluster.local",destination_canonical_service="server",destination_canonical_revision="v1",destination_service_name="server",destination_service_namespace="app",destination_cluster="Kubernetes",request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",connection_security_policy="mutual_tls"} 7
istio_requests_total{reporter="waypoint",source_workload="client",source_canonical_service="client",source_canonical_revision="v1",source_workload_namespace="app",source_principal="spiffe://cluster.local/ns/app/sa/client",source_app="client",source_version="v1",source_cluster="Kubernetes",destination_workload="server",destination_workload_namespace="app",destination_principal="spiffe://cluster.local/ns/app/sa/server",destination_app="server",destination_version="v1",destination_service="server.app.svc.cluster.local",destination_canonical_service="server",destination_canonical_revision="v1",destination_service_name="server",destination_service_namespace="app",destination_cluster="Kubernetes",request_protocol="http",response_code="403",grpc_response_status="",response_flags="-",connection_security_policy="mutual_tls"} 2
# TYPE istio_request_duration_milliseconds histogram
istio_request_duration_milliseconds_bucket{reporter="waypoint",destination_service_name="server",response_code="200",le="0.5"} 0
istio_request_duration_milliseconds_bucket{reporter="waypoint",destination_service_name="server",response_code="200",le="1"} 4
istio_request_duration_milliseconds_bucket{reporter="waypoint",destination_service_name="server",response_code="200",le="+Inf"} 7
istio_request_duration_milliseconds_sum{reporter="waypoint",destination_service_name="server",response_code="200"} 12.5
istio_request_duration_milliseconds_count{reporter="waypoint",destination_service_name="server",response_code="200"} 7
`

// ztunnelContentType and openMetricsContentType are the two Content-Type
// values ztunnel answers with (src/metrics/server.rs).
const (
	ztunnelContentType     = "text/plain; charset=utf-8"
	openMetricsContentType = "application/openmetrics-text;charset=utf-8;version=1.0.0"
)

func TestParseMetricsFormats(t *testing.T) {
	srcMTLS := map[string]string{LabelReporter: ReporterSource, LabelConnectionSecurityPolicy: SecurityMutualTLS}
	dstAll := map[string]string{LabelReporter: ReporterDestination}
	tests := []struct {
		name, body, contentType string
	}{
		{"ztunnel default (OpenMetrics body as text/plain)", ztunnelScrape(4, 5, 1), ztunnelContentType},
		{"ztunnel asked for OpenMetrics", ztunnelScrape(4, 5, 1), openMetricsContentType},
		{"OpenMetrics 0.0.1", ztunnelScrape(4, 5, 1), "application/openmetrics-text; version=0.0.1; charset=utf-8"},
		{"unknown content type (ParseMetrics)", ztunnelScrape(4, 5, 1), ""},
		{"Prometheus text 0.0.4", ztunnelScrapeText(4, 5, 1), "text/plain; version=0.0.4; charset=utf-8"},
		{"Prometheus text, no content type", ztunnelScrapeText(4, 5, 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				m   Metrics
				err error
			)
			if tt.contentType == "" {
				m, err = ParseMetrics(strings.NewReader(tt.body))
			} else {
				m, err = ParseMetricsContentType(strings.NewReader(tt.body), tt.contentType)
			}
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				what      string
				got, want float64
			}{
				{"opened source mTLS", m.Sum(MetricTCPOpened, srcMTLS), 4},
				{"opened destination all", m.Sum(MetricTCPOpened, dstAll), 6},
				{"opened destination plaintext", m.Sum(MetricTCPOpened, map[string]string{LabelReporter: ReporterDestination, LabelConnectionSecurityPolicy: SecurityUnknown, LabelSourcePrincipal: ValueUnknown}), 1},
				{"opened, no match", m.Sum(MetricTCPOpened, nil), 10},
				{"opened by base name", m.Sum("istio_tcp_connections_opened", srcMTLS), 4},
				{"closed", m.Sum(MetricTCPClosed, srcMTLS), 4},
				{"received bytes", m.Sum(MetricTCPReceivedBytes, nil), 1132},
				{"sent bytes", m.Sum(MetricTCPSentBytes, nil), 1432},
				{"failed (declared, no series)", m.Sum(MetricTCPFailed, nil), 0},
				{"gauge", m.Sum("istio_tcp_sockets_open", nil), 0},
				{"build", m.Sum("istio_build", map[string]string{"component": "ztunnel"}), 1},
				{"histogram count", m.Sum("istio_dns_upstream_request_duration_seconds_count", nil), 2},
				{"histogram sum", m.Sum("istio_dns_upstream_request_duration_seconds_sum", nil), 0.004},
				{"no-prefix gauge", m.Sum("workload_manager_active_proxy_count", nil), 3},
				{"principal label keeps spiffe://", m.Sum(MetricTCPOpened, map[string]string{LabelSourcePrincipal: clientSA, LabelDestinationPrincipal: serverSA}), 9},
				{"principal without spiffe:// matches nothing", m.Sum(MetricTCPOpened, map[string]string{LabelSourcePrincipal: "cluster.local/ns/app/sa/client"}), 0},
				{"absent label matches empty value", m.Sum(MetricTCPOpened, map[string]string{"no_such_label": ""}), 10},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %g, want %g", c.what, c.got, c.want)
				}
			}
			if n := len(m.Series(MetricTCPOpened)); n != 3 {
				t.Errorf("%d opened series, want 3", n)
			}
			if s := m.Series(MetricTCPOpened)[0]; len(s.Labels) != 27 {
				t.Errorf("first opened series has %d labels, want 27: %v", len(s.Labels), s.Labels)
			}
		})
	}
}

func TestParseMetricsWaypoint(t *testing.T) {
	m, err := ParseMetricsContentType(strings.NewReader(waypointScrape), "text/plain; version=0.0.4; charset=utf-8")
	if err != nil {
		t.Fatal(err)
	}
	wp := map[string]string{LabelReporter: ReporterWaypoint, LabelSourcePrincipal: clientSA}
	if got := m.Sum(MetricRequests, wp); got != 9 {
		t.Errorf("requests = %g, want 9", got)
	}
	wp[LabelResponseCode] = "403"
	if got := m.Sum(MetricRequests, wp); got != 2 {
		t.Errorf("403 requests = %g, want 2", got)
	}
	if got := m.Sum("istio_request_duration_milliseconds_count", nil); got != 7 {
		t.Errorf("duration count = %g, want 7", got)
	}
	if got := m.Sum("envoy_cluster_upstream_cx_total", nil); got != 3 {
		t.Errorf("envoy counter = %g, want 3", got)
	}
	names := strings.Join(m.Names(), " ")
	if names != "envoy_cluster_upstream_cx_total istio_request_duration_milliseconds_count istio_request_duration_milliseconds_sum istio_requests_total" {
		t.Errorf("Names = %s", names)
	}
}

func TestParseMetricsOpenMetricsDecoder(t *testing.T) {
	// An exemplar is valid OpenMetrics that the classic text parser rejects,
	// so this body goes through expfmt's OpenMetrics decoder.
	body := `# HELP istio_tcp_connections_opened The total number of TCP connections opened.
# TYPE istio_tcp_connections_opened counter
istio_tcp_connections_opened_total{reporter="source",connection_security_policy="mutual_tls"} 2 # {trace_id="4bf92f3577b34da6"} 1.0
istio_tcp_connections_opened_total{reporter="destination",connection_security_policy="mutual_tls"} 3
# EOF
`
	for _, ct := range []string{openMetricsContentType, ztunnelContentType} {
		m, err := ParseMetricsContentType(strings.NewReader(body), ct)
		if err != nil {
			t.Fatalf("%s: %v", ct, err)
		}
		if got := m.Sum(MetricTCPOpened, map[string]string{LabelReporter: ReporterSource}); got != 2 {
			t.Errorf("%s: source = %g, want 2", ct, got)
		}
		if got := m.Sum(MetricTCPOpened, nil); got != 5 {
			t.Errorf("%s: all = %g, want 5", ct, got)
		}
	}
	// As Prometheus text (no # EOF) the same exemplar is an error.
	if _, err := ParseMetrics(strings.NewReader(strings.TrimSuffix(body, "# EOF\n"))); err == nil {
		t.Error("exemplar in Prometheus text: want error")
	}
}

func TestParseMetricsErrors(t *testing.T) {
	tests := []struct{ name, body, ct, want string }{
		{"json content type", ztunnelScrape(1, 1, 1), "application/json", "not supported"},
		{"OpenMetrics 2.0", ztunnelScrape(1, 1, 1), "application/openmetrics-text; version=2.0.0; charset=utf-8", "not supported"},
		{"bad content type", ztunnelScrape(1, 1, 1), "text/plain; ;;=", "content type"},
		{"garbage", "this is {not metrics\n", "", "parse metrics"},
		{"garbage OpenMetrics", "what is this\n# EOF\n", openMetricsContentType, "as Prometheus text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMetricsContentType(strings.NewReader(tt.body), tt.ct)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDelta(t *testing.T) {
	before, err := ParseMetrics(strings.NewReader(ztunnelScrape(4, 4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseMetrics(strings.NewReader(ztunnelScrape(7, 5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]string{LabelReporter: ReporterSource}
	if d := Delta(before, after, MetricTCPOpened, src); d != 3 {
		t.Errorf("source delta = %g, want 3", d)
	}
	if d := Delta(before, after, MetricTCPOpened, map[string]string{LabelReporter: ReporterDestination}); d != 1 {
		t.Errorf("destination delta = %g, want 1", d)
	}
	if d := Delta(after, before, MetricTCPOpened, src); d != -3 {
		t.Errorf("reversed delta = %g, want -3", d)
	}
	// A series that appears only in the second scrape counts from zero.
	if d := Delta(Metrics{}, after, MetricTCPOpened, src); d != 7 {
		t.Errorf("delta from empty = %g, want 7", d)
	}
	if d := Delta(before, after, "no_such_metric_total", nil); d != 0 {
		t.Errorf("delta of missing metric = %g", d)
	}
}

func TestEndsWithEOF(t *testing.T) {
	for body, want := range map[string]bool{
		"a 1\n# EOF\n":     true,
		"a 1\n# EOF":       true,
		"a 1\n# EOF\n\n":   true,
		"# EOF":            true,
		"a 1\n":            false,
		"":                 false,
		"a 1\n# EOFX\n":    false,
		"# EOF\nb 1\n":     false,
		"a 1\r\n# EOF\r\n": true,
	} {
		if got := endsWithEOF([]byte(body)); got != want {
			t.Errorf("endsWithEOF(%q) = %v, want %v", body, got, want)
		}
	}
}
