package cluster

import (
	"strings"
	"testing"
)

// kubeadm's default Corefile (kubeadm cmd/phases/addons/dns).
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

func TestStripForwardRemovesOnlyTheForwardBlock(t *testing.T) {
	out, removed := StripForward(kubeadmCorefile)
	if !removed || strings.Contains(out, "forward") || strings.Contains(out, "max_concurrent") {
		t.Fatalf("forward left in:\n%s", out)
	}
	for _, keep := range []string{"kubernetes cluster.local", "fallthrough in-addr.arpa", "cache 30 {", "disable denial cluster.local", "reload", "lameduck 5s"} {
		if !strings.Contains(out, keep) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
	if strings.Count(out, "{") != strings.Count(out, "}") {
		t.Fatalf("unbalanced braces:\n%s", out)
	}
	again, removedAgain := StripForward(out)
	if removedAgain || again != out {
		t.Fatal("not idempotent")
	}
}

func TestStripForwardOneLineForm(t *testing.T) {
	out, removed := StripForward(".:53 {\n    forward . 192.0.2.53\n    cache 30\n}\n")
	if !removed || strings.Contains(out, "192.0.2.53") || !strings.Contains(out, "cache 30") {
		t.Fatalf("%q", out)
	}
}
