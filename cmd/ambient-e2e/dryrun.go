package main

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/fixtures"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/jwt"
	"github.com/ambient-e2e/ambient-e2e/harness/waypoint"
)

// dryRunManifests renders every manifest the suite applies (each workload
// variant, every policy, the waypoint Gateway) and has the cluster's API
// server validate it with a server-side dry run against the CRDs installed
// there. It needs a cluster with the Istio and Gateway API CRDs (install-crds)
// and no mesh; it creates one labelled namespace and removes it.
func dryRunManifestsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dry-run-manifests",
		Short: "Have the API server validate every manifest the suite applies (server-side dry run)",
		Args:  cobra.NoArgs,
		RunE:  configured(dryRunManifests),
	}
}

func dryRunManifests(ctx context.Context, cfg *config.Config, _ []string) error {
	k, err := clusterClient(ctx, cfg, "dryrun")
	if err != nil {
		return err
	}
	ns, err := k.CreateNamespace(ctx, "dryrun", nil)
	if err != nil {
		return err
	}
	defer func() { _ = k.DeleteNamespace(context.WithoutCancel(ctx), ns, cfg.ReadyTimeout) }()

	docs := map[string][]byte{}
	for _, w := range []fixtures.Workload{
		{Name: "plain"},
		{Name: "with-service", Service: "with-service", ServiceLabels: map[string]string{waypoint.UseLabel: "waypoint"}},
		{Name: "api-v2", App: "api", Version: "v2", ServiceAccount: "api", Service: "api-v2", ServiceSelectsVersion: true,
			PodLabels: map[string]string{waypoint.UseLabel: "waypoint"}},
		{Name: "ext-authz", Service: "ext-authz", HTTPPort: 8000, Args: []string{"authz", "--port=8000"}},
	} {
		w.Namespace, w.Image, w.ObjectLabels = ns, "probe:dry-run", k.Labels()
		if docs["workload "+w.Name], err = fixtures.Render(w); err != nil {
			return err
		}
	}
	issuer, err := jwt.NewIssuer("https://ambient-e2e.invalid/dry-run")
	if err != nil {
		return err
	}
	jwks, err := issuer.JWKS()
	if err != nil {
		return err
	}
	d := fixtures.PolicyData{Namespace: ns, TrustDomain: cfg.TrustDomain, Waypoint: "waypoint", Issuer: issuer.Name(), JWKS: jwks, RequestPrincipal: issuer.RequestPrincipal("frontend")}
	names, err := fixtures.PolicyNames()
	if err != nil {
		return err
	}
	for _, name := range names {
		if docs["policy "+name], err = fixtures.Policy(name, d); err != nil {
			return err
		}
	}
	for name, f := range map[string]string{"waypoint": "", "wp-service": waypoint.ForService, "wp-workload": waypoint.ForWorkload, "wp-all": waypoint.ForAll} {
		if docs["waypoint Gateway "+name], err = waypoint.Manifest(waypoint.Gateway(ns, name, f)); err != nil {
			return err
		}
	}
	var failed int
	for _, what := range slices.Sorted(maps.Keys(docs)) {
		m := docs[what]
		if err := k.DryRun(ctx, m, ns); err != nil {
			failed++
			say(fmt.Sprintf("REJECTED %s: %v", what, err))
			continue
		}
		say("accepted " + what)
	}
	if failed > 0 {
		return fmt.Errorf("the API server rejected %d of %d manifests", failed, len(docs))
	}
	say(fmt.Sprintf("the API server accepted all %d manifests (server-side dry run)", len(docs)))
	return nil
}
