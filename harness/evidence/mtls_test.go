package evidence

import (
	"strings"
	"testing"
)

func parseLog(t *testing.T, lines ...string) []AccessEntry {
	t.Helper()
	entries, err := ParseAccessLog(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

var clientToServer = MTLSExpectation{SrcIdentity: clientSA, DstIdentity: serverSA, ServerPort: 8080, Connections: 1}

func TestCheckOutboundInbound(t *testing.T) {
	twice := clientToServer
	twice.Connections = 2
	noScheme := clientToServer
	noScheme.SrcIdentity, noScheme.DstIdentity = "cluster.local/ns/app/sa/client", "cluster.local/ns/app/sa/server"
	wrongDst := clientToServer
	wrongDst.DstIdentity = SPIFFE("", "app", "other")
	wrongPort := clientToServer
	wrongPort.ServerPort = 9090

	tests := []struct {
		name    string
		check   func([]AccessEntry, MTLSExpectation) error
		lines   []string
		exp     MTLSExpectation
		wantErr []string // substrings; nil means success
	}{
		{"outbound ok", CheckOutbound, []string{xdsLine, openedLine, outboundLine}, clientToServer, nil},
		{"outbound ok in json", CheckOutbound, []string{outboundJSON}, clientToServer, nil},
		{"inbound ok", CheckInbound, []string{inboundLine}, clientToServer, nil},
		{"identities without spiffe://", CheckOutbound, []string{outboundLine}, noScheme, nil},
		{"facts example", CheckOutbound, []string{factsExampleLine}, MTLSExpectation{
			SrcIdentity: SPIFFE("", "bookinfo", "bookinfo-productpage"), DstIdentity: SPIFFE("", "bookinfo", "bookinfo-details"), ServerPort: 9080,
		}, nil},
		{"inbound line is not outbound evidence", CheckOutbound, []string{inboundLine}, clientToServer, []string{
			`no "connection complete" line with direction="outbound" src.identity="spiffe://cluster.local/ns/app/sa/client" dst.identity="spiffe://cluster.local/ns/app/sa/server" dst.addr=*:15008 dst.hbone_addr=*:8080 (want ≥ 1;`,
			"saw 1 access lines", `differs in direction (got "inbound", want "outbound")`,
		}},
		{"outbound line is not inbound evidence", CheckInbound, []string{outboundLine}, clientToServer, []string{`direction="inbound"`, `differs in direction`}},
		{"opened line alone is not enough", CheckOutbound, []string{openedLine}, clientToServer, []string{`differs in message (got "connection opened", want "connection complete")`}},
		{"too few connections", CheckOutbound, []string{outboundLine}, twice, []string{`only 1 "connection complete" line`, "want ≥ 2"}},
		{"wrong destination identity", CheckOutbound, []string{outboundLine}, wrongDst, []string{
			"closest: [info access", `differs in dst.identity (got "spiffe://cluster.local/ns/app/sa/server", want "spiffe://cluster.local/ns/app/sa/other")`,
		}},
		{"not tunnelled to 15008", CheckOutbound, []string{strings.Replace(outboundLine, "dst.addr=10.244.2.9:15008", "dst.addr=10.244.2.9:15009", 1)}, clientToServer, []string{`differs in dst.addr port (got "15009", want "15008")`}},
		{"wrong server port", CheckInbound, []string{inboundLine}, wrongPort, []string{`dst.hbone_addr port (got "8080", want "9090")`}},
		{"plaintext outbound", CheckOutbound, []string{plaintextOutboundLine}, clientToServer, []string{
			"no \"connection complete\" line", "traffic was plaintext: 1 \"connection complete\" line(s) with direction=\"outbound\" and no identities to port 8080",
			"src.identity=<none>", "dst.addr=10.244.2.9:8080",
		}},
		{"plaintext inbound", CheckInbound, []string{plaintextInboundLine}, clientToServer, []string{"traffic was plaintext", "src.addr=10.244.1.12:40112"}},
		{"denied connection", CheckInbound, []string{denyNotAllowedLine}, clientToServer, []string{
			`1 otherwise matching line(s) ended with error="connection closed due to policy rejection: allow policies exist, but none allowed"`,
		}},
		{"source side of a deny", CheckOutbound, []string{deny401OutboundLine}, clientToServer, []string{`ended with error="http status: 401 Unauthorized"`}},
		{"empty log", CheckOutbound, nil, clientToServer, []string{"saw 0 access lines", "no access lines at all"}},
		{"only non-access lines", CheckInbound, []string{xdsLine, startupLine, panicLine}, clientToServer, []string{"no access lines at all"}},
		{"truncated line does not count", CheckOutbound, []string{truncatedLine}, clientToServer, []string{"saw 0 access lines"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(parseLog(t, tt.lines...), tt.exp)
			wantErrContaining(t, err, tt.wantErr)
		})
	}
}

func TestCheckPlaintextNotBlamedOnOtherNamespace(t *testing.T) {
	// A plaintext line to the same port but another namespace is not "this flow".
	other := strings.ReplaceAll(plaintextOutboundLine, `dst.namespace="app"`, `dst.namespace="elsewhere"`)
	err := CheckOutbound(parseLog(t, other), clientToServer)
	if err == nil || strings.Contains(err.Error(), "plaintext") {
		t.Errorf("err = %v, want an error without a plaintext verdict", err)
	}
}

// TestCheckScopedToThePair: two clients with the same identity (the
// same-node and the cross-node placement of one spec, both with SA
// "client") must not count for each other, and another pair's plaintext is
// no hint about this one (docs/review-findings.md #3 and the misleading hints).
func TestCheckScopedToThePair(t *testing.T) {
	const sameNodeClient = "10.244.2.20"
	other := strings.NewReplacer("src.addr=10.244.1.7:51234", "src.addr="+sameNodeClient+":40000").Replace(outboundLine)
	otherInbound := strings.NewReplacer("src.addr=10.244.1.7:51234", "src.addr="+sameNodeClient+":40000").Replace(inboundLine)
	cross := clientToServer
	cross.SrcIP, cross.DstIP = "10.244.1.7", "10.244.2.9"
	same := clientToServer
	same.SrcIP, same.DstIP = sameNodeClient, "10.244.2.9"
	twoCross := cross
	twoCross.Connections = 2
	wrongServer := cross
	wrongServer.DstIP = "10.244.2.99"

	tests := []struct {
		name    string
		check   func([]AccessEntry, MTLSExpectation) error
		lines   []string
		exp     MTLSExpectation
		wantErr []string
	}{
		{"the pair's own line counts", CheckOutbound, []string{outboundLine, other}, cross, nil},
		{"inbound by client IP", CheckInbound, []string{otherInbound, inboundLine}, cross, nil},
		{"another client's line does not count", CheckOutbound, []string{other}, cross, []string{
			`src.addr host="10.244.1.7"`, `differs in src.addr host (got "10.244.2.20", want "10.244.1.7")`,
		}},
		{"another client's inbound line does not count", CheckInbound, []string{inboundLine}, same, []string{`differs in src.addr host`}},
		{"the other placement cannot make up the count", CheckOutbound, []string{outboundLine, other}, twoCross, []string{`only 1 "connection complete" line`}},
		{"another server", CheckOutbound, []string{outboundLine}, wrongServer, []string{`differs in destination host (got "10.244.2.9", want "10.244.2.99")`}},
		{"another pair's plaintext is no hint", CheckOutbound, []string{plaintextOutboundLine}, same, []string{`no "connection complete" line`}},
		{"this pair's plaintext is the hint", CheckOutbound, []string{plaintextOutboundLine}, cross, []string{"traffic was plaintext: 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(parseLog(t, tt.lines...), tt.exp)
			wantErrContaining(t, err, tt.wantErr)
			if tt.name == "another pair's plaintext is no hint" && err != nil && strings.Contains(err.Error(), "plaintext") {
				t.Errorf("blamed another pair's plaintext: %v", err)
			}
		})
	}
}

func TestCheckMetricDelta(t *testing.T) {
	parse := func(body string) Metrics {
		t.Helper()
		m, err := ParseMetricsContentType(strings.NewReader(body), ztunnelContentType)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := parse(ztunnelScrape(4, 4, 1))
	three := clientToServer
	three.Connections = 3

	tests := []struct {
		name     string
		after    Metrics
		reporter string
		exp      MTLSExpectation
		wantErr  []string
	}{
		{"source grew", parse(ztunnelScrape(5, 4, 1)), ReporterSource, clientToServer, nil},
		{"destination grew by 3", parse(ztunnelScrape(4, 7, 1)), ReporterDestination, three, nil},
		{"prometheus text after OpenMetrics before", parse(ztunnelScrapeText(4, 7, 1)), ReporterDestination, three, nil},
		{"identities without spiffe://", parse(ztunnelScrape(5, 4, 1)), ReporterSource, MTLSExpectation{
			SrcIdentity: "cluster.local/ns/app/sa/client", DstIdentity: "cluster.local/ns/app/sa/server",
		}, nil},
		{"delta too small", parse(ztunnelScrape(4, 6, 1)), ReporterDestination, three, []string{
			`istio_tcp_connections_opened_total{reporter="destination",connection_security_policy="mutual_tls",source_principal="spiffe://cluster.local/ns/app/sa/client",destination_principal="spiffe://cluster.local/ns/app/sa/server"} grew by 2, want ≥ 3`,
			`1 series with reporter="destination" grew`,
		}},
		{"only plaintext grew", parse(ztunnelScrape(4, 4, 3)), ReporterDestination, clientToServer, []string{
			"grew by 0, want ≥ 1",
			`traffic was plaintext: istio_tcp_connections_opened_total{reporter="destination",connection_security_policy="unknown",destination_principal="spiffe://cluster.local/ns/app/sa/server"} grew by 2`,
			`source_principal="unknown"`,
		}},
		{"wrong reporter", parse(ztunnelScrape(5, 4, 1)), ReporterDestination, clientToServer, []string{`no istio_tcp_connections_opened_total series with reporter="destination" grew`}},
		{"the client's workload grew", parse(ztunnelScrape(5, 4, 1)), ReporterSource, MTLSExpectation{SrcIdentity: clientSA, DstIdentity: serverSA, SrcWorkload: "client"}, nil},
		{"another workload with the same identity", parse(ztunnelScrape(5, 4, 1)), ReporterSource, MTLSExpectation{SrcIdentity: clientSA, DstIdentity: serverSA, SrcWorkload: "client-same"}, []string{
			`source_workload="client-same"} grew by 0`,
		}},
		{"nothing grew", base, ReporterSource, clientToServer, []string{"grew by 0", "is this the right node's ztunnel?"}},
		{"counter reset", parse(ztunnelScrape(1, 0, 0)), ReporterSource, clientToServer, []string{"grew by -3", "did the ztunnel pod restart"}},
		{"other principals grew", parse(ztunnelScrape(6, 4, 1)), ReporterSource, MTLSExpectation{SrcIdentity: clientSA, DstIdentity: SPIFFE("", "app", "other")}, []string{
			`destination_principal="spiffe://cluster.local/ns/app/sa/other"} grew by 0`,
			`1 series with reporter="source" grew: {connection_security_policy="mutual_tls",source_principal="spiffe://cluster.local/ns/app/sa/client",destination_principal="spiffe://cluster.local/ns/app/sa/server",source_workload="client",destination_workload="server",response_flags="-"}+2`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMetricDelta(base, tt.after, tt.reporter, tt.exp)
			wantErrContaining(t, err, tt.wantErr)
		})
	}
}

// wantErrContaining fails t unless err is nil when want is nil, or is an
// error containing every string of want.
func wantErrContaining(t *testing.T, err error, want []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range want {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not contain %q:\n%v", s, err)
		}
	}
}
