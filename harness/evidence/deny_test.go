package evidence

import "testing"

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
