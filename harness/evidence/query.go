package evidence

import (
	"net"
	"strings"
)

// DefaultTrustDomain is Istio's default trust domain.
const DefaultTrustDomain = "cluster.local"

const spiffePrefix = "spiffe://"

// SPIFFE returns the SPIFFE identity of a service account, in the form
// ztunnel logs and labels it (ztunnel src/identity/manager.rs, Display for
// Identity): spiffe://<trustDomain>/ns/<ns>/sa/<sa>. An empty trust domain
// means DefaultTrustDomain.
func SPIFFE(trustDomain, ns, sa string) string {
	if trustDomain == "" {
		trustDomain = DefaultTrustDomain
	}
	return spiffePrefix + trustDomain + "/ns/" + ns + "/sa/" + sa
}

// NormalizeIdentity adds the "spiffe://" scheme to an identity written the
// AuthorizationPolicy way ("cluster.local/ns/x/sa/y"); other values, and "",
// are returned unchanged.
func NormalizeIdentity(id string) string {
	if id == "" || strings.HasPrefix(id, spiffePrefix) {
		return id
	}
	if strings.Contains(id, "/ns/") && strings.Contains(id, "/sa/") {
		return spiffePrefix + id
	}
	return id
}

// identityNamespace returns the namespace of a spiffe://td/ns/<ns>/sa/<sa>
// identity, "" when it has none.
func identityNamespace(id string) string {
	_, rest, ok := strings.Cut(id, "/ns/")
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(rest, "/")
	return ns
}

// ConnQuery selects access lines. Empty fields match anything.
type ConnQuery struct {
	// Direction is "outbound" or "inbound".
	Direction string
	// SrcIdentity and DstIdentity are SPIFFE identities; the
	// "cluster.local/ns/x/sa/y" form is accepted too.
	SrcIdentity, DstIdentity string
	// DstPort is the effective destination port: the port of dst.hbone_addr
	// for tunnelled connections, of dst.addr otherwise.
	DstPort string
	// SrcIP is the host part of src.addr.
	SrcIP string
	// DstIP is the host part of the effective destination (see TargetAddr).
	DstIP string
	// Message is the exact message, e.g. "connection complete".
	Message string
}

// Match returns the entries that satisfy q, in their original order.
func Match(entries []AccessEntry, q ConnQuery) []AccessEntry {
	var out []AccessEntry
	for _, e := range entries {
		if q.matches(e) {
			out = append(out, e)
		}
	}
	return out
}

func (q ConnQuery) matches(e AccessEntry) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	return eq(q.Direction, e.Direction()) &&
		eq(NormalizeIdentity(q.SrcIdentity), e.SrcIdentity()) &&
		eq(NormalizeIdentity(q.DstIdentity), e.DstIdentity()) &&
		eq(q.DstPort, portOf(e.TargetAddr())) &&
		eq(q.SrcIP, hostOf(e.SrcAddr())) &&
		eq(q.DstIP, hostOf(e.TargetAddr())) &&
		eq(q.Message, e.Message)
}

// hostOf returns the host of "host:port" ("[v6]:port" included), or the
// input when it has no port.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// portOf returns the port of "host:port", "" when there is none.
func portOf(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return ""
}
