package runinfo

import "testing"

func TestWaitKindTakesOutTheRunsNames(t *testing.T) {
	cases := map[string]string{
		"Deployments in extauthz-73fc4 to be ready":                                                            "Deployments in extauthz-… to be ready",
		"ambient.istio.io/redirection=enabled on every pod in rollback-80478":                                  "ambient.istio.io/redirection=enabled on every pod in rollback-…",
		"frontend-74db6d554c-9mwhv → http://api.route-1d19c.svc.cluster.local:8080/v2/ready to pass the check": "frontend-… → http://api.route-….svc.cluster.local:8080/v2/ready to pass the check",
		"frontend-74db6d554c-d7rjp → http://10.244.1.28:8080/ to pass the check":                               "frontend-… → http://<ip>:8080/ to pass the check",
		"a ztunnel line on ambient-e2e-selftest-worker2":                                                       "a ztunnel line on ambient-e2e-selftest-worker",
		"istiod to be ready": "istiod to be ready",
	}
	for in, want := range cases {
		if got := WaitKind(in); got != want {
			t.Errorf("WaitKind(%q) = %q, want %q", in, got, want)
		}
	}
}
