// Command ambient-e2e is the suite's command line for what happens outside
// Ginkgo: fast checks before a run, the tables, and clean-up.
//
//	ambient-e2e preflight   validate settings and the host in seconds
//	ambient-e2e versions    print the supported Istio versions
//	ambient-e2e env         print every setting with its default
//	ambient-e2e sweep       delete every namespace the suite ever created
//	ambient-e2e delete-cluster   delete the kind cluster KIND_CLUSTER_NAME
//	ambient-e2e cluster-up  create or reuse the kind cluster, print its kubeconfig path
//	ambient-e2e install-crds   apply only the Istio and Gateway API CRDs of ISTIO_VERSION
//	ambient-e2e offline-dns    make CoreDNS answer cluster names only (no forwarding)
//	ambient-e2e dry-run-manifests   server-side dry run of every manifest the suite applies
//	ambient-e2e verdicts TABLE REPORT   compare a Ginkgo JSON report with a verdict table
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ambient-e2e/ambient-e2e/clusters"
	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/versions"
	"github.com/ambient-e2e/ambient-e2e/reports/verdict"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "preflight":
		err = preflight(ctx)
	case "versions":
		err = printVersions()
	case "env":
		printEnv()
	case "sweep":
		err = sweep(ctx)
	case "delete-cluster":
		err = deleteCluster()
	case "cluster-up":
		err = clusterUp(ctx)
	case "install-crds":
		err = installCRDs(ctx)
	case "offline-dns":
		err = offlineDNS(ctx)
	case "dry-run-manifests":
		err = dryRunManifests(ctx)
	case "verdicts":
		err = verdicts(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ambient-e2e %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ambient-e2e preflight|versions|env|sweep|delete-cluster|cluster-up|install-crds|offline-dns|dry-run-manifests|verdicts TABLE REPORT")
	os.Exit(2)
}

func say(s string) { fmt.Fprintln(os.Stderr, s) }

// preflight validates the settings and the host, so `make e2e` stops within
// seconds on bad input instead of after a cluster build.
func preflight(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	rel, nodeImage, err := setup.Resolve(cfg)
	if err != nil {
		return err
	}
	say(fmt.Sprintf("Istio %s (Gateway API %s, Kubernetes %s–%s)", rel.Istio, rel.GatewayAPI, rel.Kubernetes.Min, rel.Kubernetes.Max))
	if err := setup.Preflight(ctx, cfg, nodeImage, say); err != nil {
		return err
	}
	if cfg.ClusterMode == config.ClusterExisting {
		c, err := cluster.Existing(cfg.Kubeconfig, cfg.KubeContext)
		if err != nil {
			return err
		}
		v, err := c.Reachable(ctx, 10*time.Second)
		if err != nil {
			return err
		}
		say("  ✓ API server answers: Kubernetes " + v)
		if cfg.ProbeImage == "" {
			return fmt.Errorf("CLUSTER_MODE=existing needs PROBE_IMAGE, a probe image the cluster can pull")
		}
	}
	return nil
}

func printVersions() error {
	t, err := versions.Load()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ISTIO\tPINNED\tKUBERNETES\tGATEWAY API\tDEFAULT")
	def := t.Default().Minor
	for _, r := range t.Releases() {
		mark := ""
		if r.Minor == def {
			mark = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s–%s\t%s\t%s\n", r.Minor, r.Pinned, r.Kubernetes.Min, r.Kubernetes.Max, r.GatewayAPI, mark)
	}
	return w.Flush()
}

func printEnv() {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VARIABLE\tDEFAULT\tMEANING")
	for _, v := range config.Variables {
		fmt.Fprintf(w, "%s\t%s\t%s\n", v.Name, v.Default, v.Help)
	}
	_ = w.Flush()
}

// sweep deletes every namespace labelled as the suite's, from any run.
func sweep(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	if cfg.ClusterMode == config.ClusterKind {
		if ok, err := cluster.KindExists(cfg.KindCluster); err != nil || !ok {
			say("no kind cluster " + cfg.KindCluster + ": nothing to sweep")
			return err
		}
	}
	k, err := clusterClient(ctx, cfg, "sweep")
	if err != nil {
		return err
	}
	names, err := k.Sweep(ctx, kube.OwnedLabel+"=true", cfg.ReadyTimeout)
	say(fmt.Sprintf("deleted %d namespaces %v", len(names), names))
	return err
}

func deleteCluster() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	ok, err := cluster.KindExists(cfg.KindCluster)
	if err != nil || !ok {
		say("no kind cluster " + cfg.KindCluster)
		return err
	}
	say("deleting kind cluster " + cfg.KindCluster)
	return cluster.Attach(cfg.KindCluster, "", "").Delete()
}

// kindCluster creates or reuses the kind cluster of the settings.
func kindCluster(ctx context.Context, cfg *config.Config) (*cluster.Cluster, error) {
	if cfg.ClusterMode != config.ClusterKind {
		return cluster.Existing(cfg.Kubeconfig, cfg.KubeContext)
	}
	_, nodeImage, err := setup.Resolve(cfg)
	if err != nil {
		return nil, err
	}
	return cluster.EnsureKind(ctx, cluster.KindOptions{
		Name: cfg.KindCluster, NodeImage: nodeImage, Config: clusters.KindConfig,
		APIServerPort: cfg.KindAPIPort, WorkDir: cfg.WorkDir, WaitForReady: cfg.ReadyTimeout,
	}, say)
}

// clusterClient is a cluster client for the settings' cluster; runID labels
// what it creates.
func clusterClient(ctx context.Context, cfg *config.Config, runID string) (*kube.Kube, error) {
	c, err := kindCluster(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rc, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kube.New(rc, c.Kubeconfig, c.Context, runID)
}

// clusterUp creates or reuses the kind cluster and prints its kubeconfig path.
func clusterUp(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	_, nodeImage, err := setup.Resolve(cfg)
	if err != nil {
		return err
	}
	if err := setup.Preflight(ctx, cfg, nodeImage, say); err != nil {
		return err
	}
	c, err := kindCluster(ctx, cfg)
	if err != nil {
		return err
	}
	v, err := c.Reachable(ctx, 15*time.Second)
	if err != nil {
		return err
	}
	say("cluster " + cfg.KindCluster + " up, Kubernetes " + v)
	fmt.Println(c.Kubeconfig)
	return nil
}

// offlineDNS strips CoreDNS's forward directive: in an offline cluster no
// query may leave the machine through the host's resolver.
func offlineDNS(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	c, err := kindCluster(ctx, cfg)
	if err != nil {
		return err
	}
	changed, err := c.KeepDNSInside(ctx)
	if err != nil {
		return err
	}
	if changed {
		say("CoreDNS no longer forwards names outside the cluster (forward directive removed)")
	} else {
		say("CoreDNS already forwards nothing")
	}
	return nil
}

// installCRDs applies the Istio and Gateway API CRDs of the release, and
// nothing else: policy objects are then accepted by a cluster with no mesh.
func installCRDs(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	rel, _, err := setup.Resolve(cfg)
	if err != nil {
		return err
	}
	k, err := clusterClient(ctx, cfg, "crds")
	if err != nil {
		return err
	}
	if err := mesh.EnsureGatewayAPI(ctx, k, rel.GatewayAPI, say); err != nil {
		return err
	}
	crds, err := mesh.IstioCRDs(ctx, rel.IstioAPIModule)
	if err != nil {
		return err
	}
	say(fmt.Sprintf("installing the Istio %s CRDs (istio.io/api %s)", rel.Minor, rel.IstioAPIModule))
	return k.ApplyCluster(ctx, crds)
}

// verdicts compares a Ginkgo JSON report with a verdict table and fails on
// any difference, above all on a mesh assertion that passed.
func verdicts(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: ambient-e2e verdicts TABLE REPORT")
	}
	t, err := verdict.LoadTable(args[0])
	if err != nil {
		return err
	}
	outcomes, err := verdict.ReadReport(args[1])
	if err != nil {
		return err
	}
	var ms []verdict.Mismatch
	if os.Getenv("COVERAGE_ONLY") == "1" { // a dry-run report: only the spec names count
		ms = verdict.Coverage(t, outcomes)
		for _, m := range ms {
			fmt.Println(m)
		}
		if len(ms) > 0 {
			return fmt.Errorf("%s and the suite name different specs: every spec needs exactly one row", args[0])
		}
		fmt.Printf("%s names all %d specs of the suite\n", args[0], len(outcomes))
		return nil
	}
	ms = verdict.Compare(t, outcomes, os.Getenv("LABEL_FILTER") != "")
	fmt.Print(verdict.Summary(t, outcomes, ms))
	if len(ms) > 0 {
		return fmt.Errorf("%d verdicts differ from %s", len(ms), args[0])
	}
	return nil
}
