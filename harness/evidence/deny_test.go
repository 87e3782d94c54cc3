package evidence

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, line string) AccessEntry {
	t.Helper()
	e, ok := ParseLine(line)
	if !ok {
		t.Fatalf("line did not parse: %q", line)
	}
	return e
}

func TestDenyReason(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		reason string
		ok     bool
	}{
		{"allow policies, none allowed", denyNotAllowedLine, ReasonNotAllowed, true},
		{"explicit deny", denyExplicitLine, "explicitly denied by: app/deny-client", true},
		{"source side sees 401", deny401OutboundLine, ReasonHTTP401, true},
		{"closed after policy change", policyChangeAccessLine, ReasonPolicyChange, true},
		{"policy watcher line", policyCloseLine, "no longer allowed after a policy update", true},
		{"policy watcher json", policyCloseJSON, "no longer allowed after a policy update", true},
		{"success", outboundLine, "", false},
		{"plaintext success", plaintextInboundLine, "", false},
		{"other error", escapedLine, "", false},
		{"early failure not a policy deny", earlyDenyLine, "", false},
		{"non-access line", xdsLine, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, ok := DenyReason(mustParse(t, tt.line))
			if ok != tt.ok || reason != tt.reason {
				t.Errorf("DenyReason = %q, %v; want %q, %v", reason, ok, tt.reason, tt.ok)
			}
		})
	}
}

func TestDenyReasonWorkloadMismatch(t *testing.T) {
	// Other AuthorizationRejectionError values (src/proxy.rs) are still
	// policy rejections: the prefix is enough.
	e := AccessEntry{Target: AccessTarget, Fields: map[string]string{FieldError: "connection closed due to policy rejection: workload mismatch"}}
	if reason, ok := DenyReason(e); !ok || reason != "workload mismatch" {
		t.Errorf("DenyReason = %q, %v", reason, ok)
	}
}

func TestDeniedBy(t *testing.T) {
	ns, name, ok := DeniedBy("explicitly denied by: app/deny-client")
	if !ok || ns != "app" || name != "deny-client" {
		t.Errorf("DeniedBy = %q %q %v", ns, name, ok)
	}
	if _, _, ok := DeniedBy(ReasonNotAllowed); ok {
		t.Error("DeniedBy(not allowed) ok")
	}
}

func TestPolicyUpdateClose(t *testing.T) {
	tests := []struct {
		name string
		line string
		want PolicyClose
		ok   bool
	}{
		{"text, mTLS client", policyCloseLine, PolicyClose{
			Src: "10.244.1.7:51400", SrcIdentity: clientSA, Dst: "10.244.2.9:8080",
			DstWorkloadUID: "Kubernetes//Pod/app/server-7c9d4f6b8-kq2lm", Workload: "app/server-7c9d4f6b8-kq2lm",
		}, true},
		{"json, plaintext client", policyCloseJSON, PolicyClose{
			Src: "10.244.1.7:51401", Dst: "10.244.2.9:8080",
			DstWorkloadUID: "Kubernetes//Pod/app/server-7c9d4f6b8-kq2lm", Workload: "app/server-7c9d4f6b8-kq2lm",
		}, true},
		{"ipv6", "2025-06-12T09:17:30.250000Z\tinfo\tproxy::connection_manager\tconnection [fd00::7]:51400(spiffe://cluster.local/ns/app/sa/client)->[fd00::9]:8080 (Kubernetes//Pod/app/s) closed because it's no longer allowed after a policy update\t",
			PolicyClose{Src: "[fd00::7]:51400", SrcIdentity: clientSA, Dst: "[fd00::9]:8080", DstWorkloadUID: "Kubernetes//Pod/app/s"}, true},
		{"access line", outboundLine, PolicyClose{}, false},
		{"other message", xdsLine, PolicyClose{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PolicyUpdateClose(mustParse(t, tt.line))
			if ok != tt.ok || got != tt.want {
				t.Errorf("PolicyUpdateClose = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCheckDenied(t *testing.T) {
	const outsider, client, server = "10.244.1.12", "10.244.1.7", "10.244.2.9"
	twice := func(line string) []string { return []string{line, strings.Replace(line, ":16:", ":17:", 1)} }
	tests := []struct {
		name    string
		lines   []string
		exp     DenyExpectation
		wantErr []string
	}{
		{"HBONE client refused by an ALLOW", []string{denyNotAllowedLine}, DenyExpectation{SrcIP: client, DstIP: server, Reason: ReasonNotAllowed}, nil},
		{"plaintext client refused through passthrough", []string{plaintextInboundLine, denyPlaintextLine}, DenyExpectation{SrcIP: outsider, DstIP: server, Reason: ReasonNotAllowed}, nil},
		{"STRICT's static DENY", []string{denyStrictLine}, DenyExpectation{SrcIP: outsider, DstIP: server,
			Reason: ReasonExplicitlyDeniedPrefix + "istio-system/istio_converted_static_strict"}, nil},
		{"explicit DENY by name", []string{denyExplicitLine}, DenyExpectation{SrcIP: client, DstIP: server, Reason: ReasonExplicitlyDeniedPrefix + "app/deny-client"}, nil},
		{"any policy reason", []string{denyExplicitLine}, DenyExpectation{SrcIP: client, DstIP: server}, nil},
		{"several connections", twice(denyPlaintextLine), DenyExpectation{SrcIP: outsider, DstIP: server, Reason: ReasonNotAllowed, Connections: 2}, nil},
		{"too few", []string{denyPlaintextLine}, DenyExpectation{SrcIP: outsider, DstIP: server, Reason: ReasonNotAllowed, Connections: 2}, []string{
			`logged 1 inbound connections from 10.244.1.12 to 10.244.2.9 refused with "connection closed due to policy rejection: allow policies exist, but none allowed", want ≥ 2`,
		}},
		{"allowed instead", []string{plaintextInboundLine}, DenyExpectation{SrcIP: outsider, DstIP: server, Reason: ReasonNotAllowed}, []string{
			"logged 0 inbound connections", "1 were allowed, e.g. [info access",
		}},
		{"the other policy", []string{denyExplicitLine}, DenyExpectation{SrcIP: client, DstIP: server, Reason: ReasonNotAllowed}, []string{
			"1 ended with another error", "explicitly denied by: app/deny-client",
		}},
		{"another client's deny does not count", []string{denyPlaintextLine}, DenyExpectation{SrcIP: client, DstIP: server, Reason: ReasonNotAllowed}, []string{
			"it logged no connection of this pair at all",
		}},
		{"the source side's 401 is not the destination's proof", []string{deny401OutboundLine}, DenyExpectation{SrcIP: client, DstIP: server}, []string{
			"no connection of this pair",
		}},
		{"a close after a policy change is not a refusal", []string{policyChangeAccessLine}, DenyExpectation{SrcIP: client, DstIP: server}, []string{
			"1 ended with another error",
		}},
		{"an error other than policy", []string{strings.Replace(denyNotAllowedLine, "connection closed due to policy rejection: allow policies exist, but none allowed", "connection reset by peer", 1)},
			DenyExpectation{SrcIP: client, DstIP: server}, []string{"ended with another error", "connection reset by peer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := ParseLog(strings.NewReader(strings.Join(tt.lines, "\n") + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			wantErrContaining(t, CheckDenied(entries, tt.exp), tt.wantErr)
		})
	}
}

func TestCheckPolicyClosed(t *testing.T) {
	entries, err := ParseLog(strings.NewReader(strings.Join([]string{xdsLine, policyCloseLine, policyChangeAccessLine, policyCloseJSON}, "\n") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPolicyClosed(entries, "10.244.1.7", "10.244.2.9"); err != nil {
		t.Fatal(err)
	}
	err = CheckPolicyClosed(entries, "10.244.1.99", "10.244.2.9")
	wantErrContaining(t, err, []string{"no \"connection … closed because it's no longer allowed after a policy update\" line for a connection 10.244.1.99 -> 10.244.2.9",
		"it closed other connections: 10.244.1.7:51400->10.244.2.9:8080"})
	// The access line of the closed connection alone is not the watcher's line.
	only, _ := ParseLog(strings.NewReader(policyChangeAccessLine + "\n"))
	wantErrContaining(t, CheckPolicyClosed(only, "10.244.1.7", "10.244.2.9"), []string{"no \"connection"})
}

// The PolicyWatcher's line as a real ztunnel (release-1.31, built from
// source) wrote it on the self-test's ztunnel mesh, 2026-12-07, when a
// namespace-wide DENY closed a held connection 308 ms after it was applied.
const realPolicyCloseLine = "2026-12-07T19:10:59.940136Z\tinfo\tproxy::connection_manager:proxy{wl=openconn-ns-1be7f/backend-bfff5958-cwjcm}\tconnection 10.244.1.107:33270(spiffe://cluster.local/ns/openconn-ns-1be7f/sa/other)->10.244.1.106:9090 (Kubernetes//Pod/openconn-ns-1be7f/backend-bfff5958-cwjcm) closed because it's no longer allowed after a policy update\t"

func TestCheckPolicyClosedRealZtunnel(t *testing.T) {
	entries, err := ParseLog(strings.NewReader(realPolicyCloseLine + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPolicyClosed(entries, "10.244.1.107", "10.244.1.106"); err != nil {
		t.Fatal(err)
	}
	wantErrContaining(t, CheckPolicyClosed(entries, "10.244.1.108", "10.244.1.106"), []string{"no \"connection"})
}
