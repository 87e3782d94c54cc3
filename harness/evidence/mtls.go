package evidence

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// HBONEPort is the port ztunnel tunnels mTLS (HBONE) traffic to: dst.addr
// of an mTLS access line ends in it, dst.hbone_addr carries the real port.
const HBONEPort = 15008

// MTLSExpectation describes the mTLS connections a spec expects between a
// client and a server.
type MTLSExpectation struct {
	// SrcIdentity and DstIdentity are SPIFFE identities (see SPIFFE); the
	// "cluster.local/ns/x/sa/y" form is accepted. Empty matches any.
	SrcIdentity, DstIdentity string
	// ServerPort is the server's real (container) port; 0 matches any.
	ServerPort int
	// SrcIP is the client pod's IP, the host of src.addr on both sides:
	// ztunnel runs in the client pod's network namespace, so its outbound
	// and the HBONE connection it opens both come from the pod IP (ztunnel
	// src/proxy/outbound.rs, src/proxy/inbound.rs). Two clients with the same
	// identity (another spec, or the same spec's other placement) are told
	// apart by it. "" matches any, which only a unit test should want.
	SrcIP string
	// DstIP is the server pod's IP, the host of the effective destination
	// (dst.hbone_addr, or dst.addr for plaintext); "" matches any.
	DstIP string
	// SrcWorkload is the client's workload name as ztunnel's metrics label it
	// (source_workload: the Deployment's name); "" matches any.
	SrcWorkload string
	// Connections is the minimum number of connections; values below 1 mean 1.
	Connections int
}

func (exp MTLSExpectation) normalized() MTLSExpectation {
	exp.SrcIdentity = NormalizeIdentity(exp.SrcIdentity)
	exp.DstIdentity = NormalizeIdentity(exp.DstIdentity)
	exp.Connections = max(exp.Connections, 1)
	return exp
}

// CheckOutbound checks the client node's ztunnel access log for at least
// exp.Connections successful "connection complete" lines with
// direction="outbound", the expected identities, dst.addr port 15008 and
// dst.hbone_addr port exp.ServerPort. The error says what was seen instead:
// the closest line, lines that matched but ended with an error, and
// "traffic was plaintext: ..." when the flow went out without mTLS.
func CheckOutbound(entries []AccessEntry, exp MTLSExpectation) error {
	return checkAccess(entries, exp.normalized(), DirectionOutbound)
}

// CheckInbound is CheckOutbound for the server node's ztunnel, whose line
// has direction="inbound" (dst.addr is still <pod ip>:15008 there).
func CheckInbound(entries []AccessEntry, exp MTLSExpectation) error {
	return checkAccess(entries, exp.normalized(), DirectionInbound)
}

type criterion struct {
	field, want string
	ok          func(AccessEntry) bool
	got         func(AccessEntry) string
}

func accessCriteria(exp MTLSExpectation, dir string) []criterion {
	eq := func(field, want string, get func(AccessEntry) string) criterion {
		return criterion{field: field, want: want, got: get,
			ok: func(e AccessEntry) bool { return want == "" || get(e) == want }}
	}
	port := func(field string, want int, get func(AccessEntry) string) criterion {
		w := ""
		if want > 0 {
			w = strconv.Itoa(want)
		}
		return eq(field+" port", w, func(e AccessEntry) string { return portOf(get(e)) })
	}
	return []criterion{
		eq("message", MsgConnectionComplete, func(e AccessEntry) string { return e.Message }),
		eq(FieldDirection, dir, AccessEntry.Direction),
		eq(FieldSrcIdentity, exp.SrcIdentity, AccessEntry.SrcIdentity),
		eq(FieldDstIdentity, exp.DstIdentity, AccessEntry.DstIdentity),
		port(FieldDstAddr, HBONEPort, AccessEntry.DstAddr),
		port(FieldDstHBONEAddr, exp.ServerPort, AccessEntry.DstHBONEAddr),
		eq(FieldSrcAddr+" host", exp.SrcIP, func(e AccessEntry) string { return hostOf(e.SrcAddr()) }),
		eq("destination host", exp.DstIP, func(e AccessEntry) string { return hostOf(e.TargetAddr()) }),
	}
}

func checkAccess(entries []AccessEntry, exp MTLSExpectation, dir string) error {
	crit := accessCriteria(exp, dir)
	var (
		access, matched    int
		errored, plaintext []AccessEntry
		closest            *AccessEntry
		closestMiss        []criterion
		dstNS              = identityNamespace(exp.DstIdentity)
		serverPort         = strconv.Itoa(exp.ServerPort)
		complete           = MsgConnectionComplete
	)
	for i := range entries {
		e := entries[i]
		if e.Target != AccessTarget {
			continue
		}
		access++
		var miss []criterion
		for _, c := range crit {
			if !c.ok(e) {
				miss = append(miss, c)
			}
		}
		switch {
		case len(miss) == 0 && e.Error() == "":
			matched++
			continue
		case len(miss) == 0:
			errored = append(errored, e)
			continue
		}
		if e.Message == complete && e.Direction() == dir && !e.IsMTLS() && exp.samePair(e) &&
			(exp.ServerPort == 0 || portOf(e.DstAddr()) == serverPort) &&
			(dstNS == "" || e.Fields[FieldDstNamespace] == "" || e.Fields[FieldDstNamespace] == dstNS) {
			plaintext = append(plaintext, e)
		}
		if closest == nil || len(miss) <= len(closestMiss) {
			closest, closestMiss = &entries[i], miss
		}
	}
	if matched >= exp.Connections {
		return nil
	}

	var b strings.Builder
	if matched == 0 {
		b.WriteString("no ")
	} else {
		fmt.Fprintf(&b, "only %d ", matched)
	}
	fmt.Fprintf(&b, "%q line with %s (want ≥ %d; saw %d access lines", complete, describeCriteria(crit[1:]), exp.Connections, access)
	if len(errored) > 0 {
		fmt.Fprintf(&b, "; %d otherwise matching line(s) ended with error=%q", len(errored), errored[len(errored)-1].Error())
	}
	if closest != nil {
		fmt.Fprintf(&b, "; closest: %s, differs in %s", summarize(*closest), describeMisses(closestMiss, *closest))
	}
	if access == 0 {
		b.WriteString("; no access lines at all: is this the right node's ztunnel, with the access log at info level?")
	}
	b.WriteString(")")
	if len(plaintext) > 0 {
		last := plaintext[len(plaintext)-1]
		fmt.Fprintf(&b, "; traffic was plaintext: %d %q line(s) with direction=%q and no identities to port %s, e.g. %s",
			len(plaintext), complete, dir, portOf(last.DstAddr()), summarize(last))
	}
	return fmt.Errorf("%s", b.String())
}

// samePair says whether a line is between exp's client and server pods, as
// far as exp names them: a plaintext line of another pair is no hint about
// this one.
func (exp MTLSExpectation) samePair(e AccessEntry) bool {
	return (exp.SrcIP == "" || hostOf(e.SrcAddr()) == exp.SrcIP) &&
		(exp.DstIP == "" || hostOf(e.TargetAddr()) == exp.DstIP)
}

func describeCriteria(cs []criterion) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if c.want == "" {
			continue
		}
		if field, ok := strings.CutSuffix(c.field, " port"); ok {
			parts = append(parts, fmt.Sprintf("%s=*:%s", field, c.want))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", c.field, c.want))
	}
	return strings.Join(parts, " ")
}

func describeMisses(cs []criterion, e AccessEntry) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		got := c.got(e)
		if got == "" {
			got = "<none>"
		}
		parts = append(parts, fmt.Sprintf("%s (got %q, want %q)", c.field, got, c.want))
	}
	return strings.Join(parts, ", ")
}

// summarize renders the fields of an access line that matter for mTLS.
func summarize(e AccessEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s %s %q", e.Level, e.Target, e.Message)
	for _, k := range []string{FieldDirection, FieldSrcAddr, FieldSrcIdentity, FieldDstAddr, FieldDstHBONEAddr, FieldDstIdentity, FieldError} {
		v, ok := e.Fields[k]
		switch {
		case !ok && (k == FieldSrcIdentity || k == FieldDstIdentity):
			v = "<none>"
		case !ok:
			continue
		}
		fmt.Fprintf(&b, " %s=%s", k, v)
	}
	b.WriteString("]")
	return b.String()
}

// CheckMetricDelta requires istio_tcp_connections_opened_total{reporter,
// connection_security_policy="mutual_tls", source_principal,
// destination_principal, source_workload} to have grown by at least exp.Connections between
// two scrapes of the same ztunnel pod. reporter is "source" on the client
// node's ztunnel and "destination" on the server node's. Principal labels
// carry the full "spiffe://" URI (ztunnel src/identity/manager.rs). When
// the mTLS series did not grow enough, the error says whether the
// plaintext (connection_security_policy="unknown") series grew instead and
// which other series grew.
func CheckMetricDelta(before, after Metrics, reporter string, exp MTLSExpectation) error {
	exp = exp.normalized()
	match := map[string]string{LabelReporter: reporter, LabelConnectionSecurityPolicy: SecurityMutualTLS}
	if exp.SrcIdentity != "" {
		match[LabelSourcePrincipal] = exp.SrcIdentity
	}
	if exp.DstIdentity != "" {
		match[LabelDestinationPrincipal] = exp.DstIdentity
	}
	if exp.SrcWorkload != "" {
		match[LabelSourceWorkload] = exp.SrcWorkload
	}
	d := Delta(before, after, MetricTCPOpened, match)
	if d >= float64(exp.Connections) {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s grew by %g, want ≥ %d", MetricTCPOpened, formatMatch(match), d, exp.Connections)
	if d < 0 {
		b.WriteString(" (the counter went backwards: did the ztunnel pod restart between the scrapes?)")
	}
	plain := map[string]string{LabelReporter: reporter, LabelConnectionSecurityPolicy: SecurityUnknown}
	if exp.DstIdentity != "" {
		plain[LabelDestinationPrincipal] = exp.DstIdentity
	}
	if exp.SrcWorkload != "" {
		plain[LabelSourceWorkload] = exp.SrcWorkload
	}
	if pd := Delta(before, after, MetricTCPOpened, plain); pd > 0 {
		fmt.Fprintf(&b, "; traffic was plaintext: %s%s grew by %g", MetricTCPOpened, formatMatch(plain), pd)
	}
	grown := grownSeries(before, after, MetricTCPOpened, map[string]string{LabelReporter: reporter})
	if len(grown) == 0 {
		fmt.Fprintf(&b, "; no %s series with reporter=%q grew: is this the right node's ztunnel?", MetricTCPOpened, reporter)
	} else {
		const show = 5
		fmt.Fprintf(&b, "; %d series with reporter=%q grew:", len(grown), reporter)
		for _, g := range grown[:min(show, len(grown))] {
			b.WriteString(" " + g)
		}
		if len(grown) > show {
			b.WriteString(" …")
		}
	}
	return fmt.Errorf("%s", b.String())
}

// grownSeries lists the series of name matching match whose value grew,
// rendered with the labels that identify an mTLS flow.
func grownSeries(before, after Metrics, name string, match map[string]string) []string {
	var out []string
	for _, s := range after.Series(name) {
		if !labelsMatch(s.Labels, match) {
			continue
		}
		prev := 0.0
		for _, p := range before.Series(name) {
			if sameLabels(p.Labels, s.Labels) {
				prev = p.Value
				break
			}
		}
		if s.Value > prev {
			key := map[string]string{}
			for _, l := range []string{LabelConnectionSecurityPolicy, LabelSourcePrincipal, LabelDestinationPrincipal, LabelSourceWorkload, LabelDestinationWorkload, LabelResponseFlags} {
				if v, ok := s.Labels[l]; ok {
					key[l] = v
				}
			}
			out = append(out, fmt.Sprintf("%s+%g", formatMatch(key), s.Value-prev))
		}
	}
	return out
}

func sameLabels(a, b map[string]string) bool {
	return len(a) == len(b) && labelsMatch(a, b)
}

// formatMatch renders labels PromQL-style in a fixed, readable order.
func formatMatch(m map[string]string) string {
	order := []string{LabelReporter, LabelConnectionSecurityPolicy, LabelSourcePrincipal, LabelDestinationPrincipal, LabelSourceWorkload, LabelDestinationWorkload, LabelResponseFlags}
	var parts []string
	seen := map[string]bool{}
	for _, k := range order {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
			seen[k] = true
		}
	}
	var extra []string
	for k, v := range m {
		if !seen[k] {
			extra = append(extra, fmt.Sprintf("%s=%q", k, v))
		}
	}
	slices.Sort(extra)
	parts = append(parts, extra...)
	return "{" + strings.Join(parts, ",") + "}"
}
