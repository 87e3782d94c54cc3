package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Counter names as they appear on the wire (ztunnel registers
// "tcp_connections_opened" etc. under the "istio" prefix, src/metrics.rs and
// src/proxy/metrics.rs; the OpenMetrics encoder adds "_total").
const (
	MetricTCPOpened        = "istio_tcp_connections_opened_total"
	MetricTCPClosed        = "istio_tcp_connections_closed_total"
	MetricTCPReceivedBytes = "istio_tcp_received_bytes_total"
	MetricTCPSentBytes     = "istio_tcp_sent_bytes_total"
	// MetricTCPFailed exists from Istio 1.29 on.
	MetricTCPFailed = "istio_tcp_connections_failed_total"
	// MetricRequests is the waypoint's (Envoy) HTTP request counter.
	MetricRequests = "istio_requests_total"
)

// Label names of ztunnel's TCP metrics (src/proxy/metrics.rs
// CommonTrafficLabels) and of the waypoint's istio_requests_total.
const (
	LabelReporter                     = "reporter"
	LabelSourceWorkload               = "source_workload"
	LabelSourceCanonicalService       = "source_canonical_service"
	LabelSourceCanonicalRevision      = "source_canonical_revision"
	LabelSourceWorkloadNamespace      = "source_workload_namespace"
	LabelSourcePrincipal              = "source_principal"
	LabelSourceApp                    = "source_app"
	LabelSourceVersion                = "source_version"
	LabelSourceCluster                = "source_cluster"
	LabelDestinationService           = "destination_service"
	LabelDestinationServiceNamespace  = "destination_service_namespace"
	LabelDestinationServiceName       = "destination_service_name"
	LabelDestinationWorkload          = "destination_workload"
	LabelDestinationCanonicalService  = "destination_canonical_service"
	LabelDestinationCanonicalRevision = "destination_canonical_revision"
	LabelDestinationWorkloadNamespace = "destination_workload_namespace"
	LabelDestinationPrincipal         = "destination_principal"
	LabelDestinationApp               = "destination_app"
	LabelDestinationVersion           = "destination_version"
	LabelDestinationCluster           = "destination_cluster"
	LabelRequestProtocol              = "request_protocol"
	LabelResponseCode                 = "response_code"
	LabelResponseFlags                = "response_flags"
	LabelConnectionSecurityPolicy     = "connection_security_policy"
)

// Label values.
const (
	// ReporterSource labels series of the client-side (outbound) ztunnel.
	ReporterSource = "source"
	// ReporterDestination labels series of the server-side (inbound) ztunnel.
	ReporterDestination = "destination"
	// ReporterWaypoint labels series of a waypoint proxy.
	ReporterWaypoint = "waypoint"
	// SecurityMutualTLS is connection_security_policy for mTLS connections.
	SecurityMutualTLS = "mutual_tls"
	// SecurityUnknown is connection_security_policy for plaintext connections.
	SecurityUnknown = "unknown"
	// ResponseFlagDeny is response_flags of a connection authorization
	// policy denied (ztunnel src/proxy/metrics.rs@release-1.29
	// ResponseFlags::AuthorizationPolicyDenied).
	ResponseFlagDeny = "DENY"
	// ValueUnknown is ztunnel's value for any label it cannot fill
	// (src/metrics.rs DefaultedUnknown).
	ValueUnknown = "unknown"
)

// Series is one labelled sample.
type Series struct {
	Labels map[string]string
	Value  float64
}

// Metrics is one scrape, indexed by sample name. Counters are indexed by
// their "_total" name whichever format they came from; histograms and
// summaries additionally expose "<name>_count" and "<name>_sum". The zero
// value is an empty scrape.
type Metrics struct {
	series map[string][]Series
}

// ParseMetrics parses a scrape whose content type is not known: like
// ParseMetricsContentType with "text/plain", so OpenMetrics bodies (ending
// in "# EOF", as ztunnel writes) and Prometheus text both work.
func ParseMetrics(r io.Reader) (Metrics, error) {
	return ParseMetricsContentType(r, "")
}

// ParseMetricsContentType parses a scrape whose Content-Type header was
// contentType ("" means text/plain). expfmt.ResponseFormat picks the format:
// Prometheus text, OpenMetrics 0.0.1/1.0.0 or delimited protobuf.
//
// Two facts shape the text cases. ztunnel always writes OpenMetrics text
// (prometheus-client's encoder, "# EOF" at the end) but labels it
// "text/plain; charset=utf-8" unless the request sent "Accept:
// application/openmetrics-text" (ztunnel src/metrics/server.rs). And
// expfmt's OpenMetrics decoder parses each line against the ABNF grammar,
// which costs tens of milliseconds per ztunnel series. So text and
// OpenMetrics bodies are first decoded with expfmt's classic text parser,
// which reads the OpenMetrics that ztunnel writes (counter samples keep
// their "_total" name); an OpenMetrics body it rejects (exemplars, info or
// stateset types) is then decoded with expfmt's OpenMetrics decoder.
func ParseMetricsContentType(r io.Reader, contentType string) (Metrics, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Metrics{}, err
	}
	format := expfmt.FmtText
	if strings.TrimSpace(contentType) != "" {
		if _, _, err := mime.ParseMediaType(contentType); err != nil {
			return Metrics{}, fmt.Errorf("metrics content type %q: %w", contentType, err)
		}
		format = expfmt.ResponseFormat(http.Header{"Content-Type": {contentType}})
		if format == expfmt.FmtUnknown {
			return Metrics{}, fmt.Errorf("metrics content type %q is not supported", contentType)
		}
	}
	switch format.FormatType() {
	case expfmt.TypeTextPlain, expfmt.TypeOpenMetrics:
	default:
		return decodeMetrics(data, format)
	}
	openMetrics := format.FormatType() == expfmt.TypeOpenMetrics
	if !openMetrics && endsWithEOF(data) {
		openMetrics, format = true, expfmt.FmtOpenMetrics_1_0_0
	}
	m, textErr := decodeMetrics(data, expfmt.FmtText)
	if textErr == nil || !openMetrics {
		return m, textErr
	}
	m, omErr := decodeMetrics(data, format)
	if omErr != nil {
		return Metrics{}, fmt.Errorf("%w (as Prometheus text: %w)", omErr, textErr)
	}
	return m, nil
}

func endsWithEOF(data []byte) bool {
	data = bytes.TrimRight(data, " \t\r\n")
	i := bytes.LastIndexByte(data, '\n')
	return string(bytes.TrimSpace(data[i+1:])) == "# EOF"
}

func decodeMetrics(data []byte, format expfmt.Format) (Metrics, error) {
	dec := expfmt.NewDecoder(bytes.NewReader(data), format)
	m := Metrics{series: map[string][]Series{}}
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return Metrics{}, fmt.Errorf("parse metrics (%s): %w", format, err)
		}
		m.add(&mf)
	}
}

func (m Metrics) add(mf *dto.MetricFamily) {
	name := mf.GetName()
	for _, metric := range mf.GetMetric() {
		labels := make(map[string]string, len(metric.GetLabel()))
		for _, l := range metric.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		put := func(n string, v float64) {
			m.series[n] = append(m.series[n], Series{Labels: labels, Value: v})
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				name += "_total" // a classic-text counter declared without _total
			}
			put(name, metric.GetCounter().GetValue())
		case dto.MetricType_GAUGE:
			put(name, metric.GetGauge().GetValue())
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			put(name+"_count", float64(metric.GetHistogram().GetSampleCount()))
			put(name+"_sum", metric.GetHistogram().GetSampleSum())
		case dto.MetricType_SUMMARY:
			put(name+"_count", float64(metric.GetSummary().GetSampleCount()))
			put(name+"_sum", metric.GetSummary().GetSampleSum())
		default:
			put(name, metric.GetUntyped().GetValue())
		}
	}
}

// Series returns every series of the sample name (e.g.
// "istio_tcp_connections_opened_total"). A counter name given without its
// "_total" suffix is found too.
func (m Metrics) Series(name string) []Series {
	if s, ok := m.series[name]; ok {
		return s
	}
	if base, ok := strings.CutSuffix(name, "_total"); ok {
		return m.series[base]
	}
	return m.series[name+"_total"]
}

// Names returns the sample names in the scrape, sorted.
func (m Metrics) Names() []string {
	names := make([]string, 0, len(m.series))
	for n := range m.series {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Sum adds up the series of name whose labels include every pair of match.
// A match value of "" also matches an absent label.
func (m Metrics) Sum(name string, match map[string]string) float64 {
	var sum float64
	for _, s := range m.Series(name) {
		if labelsMatch(s.Labels, match) {
			sum += s.Value
		}
	}
	return sum
}

func labelsMatch(labels, match map[string]string) bool {
	for k, v := range match {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Delta returns after.Sum - before.Sum for name and match. It is negative
// when the counter was reset in between (the ztunnel pod restarted).
func Delta(before, after Metrics, name string, match map[string]string) float64 {
	return after.Sum(name, match) - before.Sum(name, match)
}
