package evidence

import (
	"errors"
	"fmt"
	"strings"
)

// Texts of authorization denials, from ztunnel src/proxy.rs
// (AuthorizationRejectionError and Error) and src/proxy/h2/client.rs.
const (
	// ReasonExplicitlyDeniedPrefix starts the reason of a DENY policy match;
	// "<ns>/<name>" of the policy follows.
	ReasonExplicitlyDeniedPrefix = "explicitly denied by: "
	// ReasonNotAllowed is the reason when ALLOW policies exist but none matched.
	ReasonNotAllowed = "allow policies exist, but none allowed"
	// ReasonPolicyRejectionPrefix wraps the two reasons above in the error
	// field of the destination ztunnel's access line.
	ReasonPolicyRejectionPrefix = "connection closed due to policy rejection: "
	// ReasonPolicyChange is the error field of a connection the destination
	// ztunnel closed because a policy update no longer allows it.
	ReasonPolicyChange = "connection closed due to policy change"
	// ReasonHTTP401 is the error field on the source ztunnel when the
	// destination ztunnel refused the HBONE CONNECT (it answers a policy deny
	// with 401 Unauthorized, src/proxy/inbound.rs).
	ReasonHTTP401 = "http status: 401 Unauthorized"
	// MsgPolicyUpdateCloseSuffix ends the INFO line that ztunnel's
	// PolicyWatcher logs (target "proxy::connection_manager") when it closes
	// an existing connection after a policy update:
	// "connection <conn> closed because it's no longer allowed after a policy update".
	MsgPolicyUpdateCloseSuffix = " closed because it's no longer allowed after a policy update"
)

// DenyReason reports whether e records a connection that authorization
// policy refused or closed, and why:
//   - on the destination ztunnel, the error "connection closed due to policy
//     rejection: <reason>" yields "<reason>", i.e. "explicitly denied by:
//     <ns>/<name>" or "allow policies exist, but none allowed";
//   - "connection closed due to policy change" (the access line of a
//     connection closed after a policy update) yields that text;
//   - on the source ztunnel, "http status: 401 Unauthorized" yields that
//     text: the source only learns that the destination refused;
//   - the PolicyWatcher's "... closed because it's no longer allowed after a
//     policy update" line yields "no longer allowed after a policy update".
func DenyReason(e AccessEntry) (string, bool) {
	if e.Target != AccessTarget {
		if _, ok := PolicyUpdateClose(e); ok {
			return "no longer allowed after a policy update", true
		}
		return "", false
	}
	err := e.Error()
	switch {
	case err == "":
		return "", false
	case strings.Contains(err, ReasonExplicitlyDeniedPrefix):
		return err[strings.Index(err, ReasonExplicitlyDeniedPrefix):], true
	case strings.Contains(err, ReasonNotAllowed):
		return ReasonNotAllowed, true
	case strings.Contains(err, ReasonPolicyRejectionPrefix):
		return err[strings.Index(err, ReasonPolicyRejectionPrefix)+len(ReasonPolicyRejectionPrefix):], true
	case strings.Contains(err, ReasonPolicyChange):
		return ReasonPolicyChange, true
	case strings.Contains(err, ReasonHTTP401):
		return ReasonHTTP401, true
	}
	return "", false
}

// DeniedBy returns the "<ns>", "<name>" of the DENY policy named by a
// reason "explicitly denied by: <ns>/<name>".
func DeniedBy(reason string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(reason, ReasonExplicitlyDeniedPrefix)
	if !found {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}

// PolicyClose is a connection that ztunnel's PolicyWatcher closed after a
// policy update (ztunnel src/proxy/connection_manager.rs). The connection
// is printed as "<src>(<identity>|None)-><dst> (<dest workload uid>)"
// (src/rbac.rs Display for Connection, src/state.rs for ProxyRbacContext).
type PolicyClose struct {
	// Src is the client address, ip:port.
	Src string
	// SrcIdentity is the client's SPIFFE identity, "" for plaintext ("None").
	SrcIdentity string
	// Dst is the destination address, ip:port.
	Dst string
	// DstWorkloadUID is the destination workload's uid,
	// e.g. "Kubernetes//Pod/ns/name".
	DstWorkloadUID string
	// Workload is the "proxy.wl" span field ("<ns>/<pod>") when present.
	Workload string
}

// PolicyUpdateClose parses the PolicyWatcher's line
// "connection <conn> closed because it's no longer allowed after a policy update".
func PolicyUpdateClose(e AccessEntry) (PolicyClose, bool) {
	conn, ok := strings.CutPrefix(e.Message, "connection ")
	if !ok {
		return PolicyClose{}, false
	}
	conn, ok = strings.CutSuffix(conn, MsgPolicyUpdateCloseSuffix)
	if !ok {
		return PolicyClose{}, false
	}
	pc := PolicyClose{Workload: e.Fields["proxy.wl"]}
	// <src>(<identity>)-><dst> (<uid>)
	open := strings.IndexByte(conn, '(')
	arrow := strings.Index(conn, ")->")
	if open < 0 || arrow < open {
		return PolicyClose{}, false
	}
	pc.Src = conn[:open]
	if id := conn[open+1 : arrow]; id != "None" {
		pc.SrcIdentity = id
	}
	rest := conn[arrow+len(")->"):]
	if sp := strings.Index(rest, " ("); sp >= 0 && strings.HasSuffix(rest, ")") {
		pc.Dst = rest[:sp]
		pc.DstWorkloadUID = rest[sp+2 : len(rest)-1]
	} else {
		pc.Dst = rest
	}
	return pc, true
}

// DenyExpectation describes connections the destination ztunnel must have
// refused because of authorization policy.
type DenyExpectation struct {
	// SrcIP and DstIP are the client and server pod IPs; the line's src.addr
	// and effective destination (dst.hbone_addr for HBONE, dst.addr for a
	// plaintext connection through inbound passthrough) must match them.
	SrcIP, DstIP string
	// Reason is what DenyReason must start with: ReasonNotAllowed, or
	// ReasonExplicitlyDeniedPrefix + "<ns>/<name>". "" accepts any policy
	// rejection (but never a connection refused for another cause).
	Reason string
	// Connections is the minimum number of refused connections (≥ 1).
	Connections int
}

// CheckDenied checks a destination ztunnel's access log for at least
// exp.Connections inbound "connection complete" lines from exp.SrcIP to
// exp.DstIP that ended with a policy rejection carrying exp.Reason
// (ztunnel src/proxy/inbound.rs and inbound_passthrough.rs record
// AuthorizationPolicyDenied with the error "connection closed due to policy
// rejection: <reason>", src/proxy.rs). A client that saw a reset proves
// only that something reset it; this line proves it was the policy. The
// error says what the pair's lines showed instead.
func CheckDenied(entries []AccessEntry, exp DenyExpectation) error {
	want := max(exp.Connections, 1)
	var denied, allowed, other int
	var lastOther, lastAllowed *AccessEntry
	for i := range entries {
		e := entries[i]
		if e.Target != AccessTarget || e.Message != MsgConnectionComplete || e.Direction() != DirectionInbound ||
			hostOf(e.SrcAddr()) != exp.SrcIP || hostOf(e.TargetAddr()) != exp.DstIP {
			continue
		}
		reason, isDeny := DenyReason(e)
		switch {
		case isDeny && strings.HasPrefix(reason, exp.Reason) && reason != ReasonPolicyChange:
			denied++
		case e.Error() == "":
			allowed++
			lastAllowed = &entries[i]
		default:
			other++
			lastOther = &entries[i]
		}
	}
	if denied >= want {
		return nil
	}
	what := "a policy rejection"
	if exp.Reason != "" {
		what = fmt.Sprintf("%q", ReasonPolicyRejectionPrefix+exp.Reason)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the destination ztunnel logged %d inbound connections from %s to %s refused with %s, want ≥ %d",
		denied, exp.SrcIP, exp.DstIP, what, want)
	if allowed > 0 {
		fmt.Fprintf(&b, "; %d were allowed, e.g. %s", allowed, summarize(*lastAllowed))
	}
	if other > 0 {
		fmt.Fprintf(&b, "; %d ended with another error, e.g. %s", other, summarize(*lastOther))
	}
	if allowed+other == 0 {
		b.WriteString("; it logged no connection of this pair at all")
	}
	return errors.New(b.String())
}

// CheckPolicyClosed checks a ztunnel's log (all targets, not only access
// lines) for the PolicyWatcher's line saying it closed the connection from
// srcIP to dstIP because a policy update no longer allows it.
func CheckPolicyClosed(entries []AccessEntry, srcIP, dstIP string) error {
	var others []string
	for _, e := range entries {
		pc, ok := PolicyUpdateClose(e)
		if !ok {
			continue
		}
		if hostOf(pc.Src) == srcIP && hostOf(pc.Dst) == dstIP {
			return nil
		}
		others = append(others, pc.Src+"->"+pc.Dst)
	}
	msg := fmt.Sprintf("no %q line for a connection %s -> %s", "connection … closed because it's no longer allowed after a policy update", srcIP, dstIP)
	if len(others) > 0 {
		msg += fmt.Sprintf(" (it closed other connections: %s)", strings.Join(others, ", "))
	}
	return errors.New(msg)
}
