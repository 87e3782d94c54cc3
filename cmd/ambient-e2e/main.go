// Command ambient-e2e is the suite's command line for what happens outside
// Ginkgo: fast checks before a run, the tables, and clean-up.
//
//	ambient-e2e preflight   validate settings and the host in seconds
//	ambient-e2e versions    print the supported Istio versions
//	ambient-e2e env         print every setting with its default
//	ambient-e2e sweep       delete every namespace the suite ever created
//	ambient-e2e delete-cluster   delete the kind cluster KIND_CLUSTER_NAME
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/versions"
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
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ambient-e2e %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ambient-e2e preflight|versions|env|sweep|delete-cluster")
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
	var c *cluster.Cluster
	if cfg.ClusterMode == config.ClusterKind {
		sh := setup.Shared{KindCluster: cfg.KindCluster}
		ok, err := cluster.KindExists(cfg.KindCluster)
		if err != nil || !ok {
			say("no kind cluster " + cfg.KindCluster + ": nothing to sweep")
			return err
		}
		c, err = cluster.EnsureKind(ctx, cluster.KindOptions{Name: sh.KindCluster, WorkDir: cfg.WorkDir}, say)
		if err != nil {
			return err
		}
	} else if c, err = cluster.Existing(cfg.Kubeconfig, cfg.KubeContext); err != nil {
		return err
	}
	rc, err := c.RESTConfig()
	if err != nil {
		return err
	}
	k, err := kube.New(rc, c.Kubeconfig, c.Context, "sweep")
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
