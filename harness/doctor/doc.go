// Package doctor is the seed article's debug flow ("is the namespace
// labelled? are pods getting identity? is ztunnel intercepting traffic? is
// the waypoint running? are policies blocking traffic? check CNI
// configuration") as checks with evidence, runnable against any cluster,
// with or without the suite.
//
// It is split in two: Gather reads the cluster into a Snapshot (every read
// bounded; a piece that cannot be read is recorded, not fatal), and Judge
// turns a Snapshot into a Report of steps, each pass, fail or not
// applicable with what was seen and what to look at next. Judge is pure, so
// every verdict is unit-tested on canned objects. A command uses it as
//
//	s, err := doctor.Gather(ctx, k, opts)
//	r := doctor.Judge(s)
//	if err != nil {
//		r = doctor.GatherFailed(opts, err)
//	}
//	_ = r.Render(os.Stdout) // r.JSON() for a bundle
//	if r.Failed() {
//		os.Exit(1)
//	}
//
// Step 0 is Kubernetes itself; steps 1–6 are the seed's questions. Where the
// seed's commands are out of date, the checks follow Istio's code: identity
// is istio-cni's ambient.istio.io/redirection annotation (not a pod label),
// interception is ztunnel's own workload_manager_active_proxy_count on each
// node (not a grep of its logs), waypoint pods are selected by
// gateway.networking.k8s.io/gateway-name (istio.io/gateway-name was removed
// in Istio 1.24).
//
// Assumed, not read: istio-cni's default enablement selectors and excluded
// namespaces, and that the mesh namespace is also the root namespace of
// mesh-wide policies (meshConfig.rootNamespace).
package doctor
