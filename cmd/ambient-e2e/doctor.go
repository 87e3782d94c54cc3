package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/doctor"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

func doctorCmd() *cobra.Command {
	var (
		namespace string
		asJSON    bool
	)
	c := &cobra.Command{
		Use:   "doctor [-n NAMESPACE]",
		Short: "The seed's debug flow, each step checked with evidence, against any cluster",
		Long: `doctor runs the rollout article's six debug questions for a namespace, with
evidence instead of log greps: is the namespace labelled, do its pods have a
mesh identity (istio-cni's redirection annotation), is ztunnel intercepting
(a ready ztunnel on each node whose active proxy count covers the pods), is the
waypoint running (Programmed, a ready pod, Services bound), are policies
blocking (a policy ztunnel cannot enforce; a selector ALLOW that forgets the
waypoint's identity), is the CNI working (istio-cni on each node). Step 0 is
Kubernetes itself. It prints a table of pass / fail / not applicable with what
was seen and what to look at next, and exits 1 on any failure.

It uses the cluster of the settings: KUBECONFIG / KUBE_CONTEXT (or the kind
cluster KIND_CLUSTER_NAME when CLUSTER_MODE=kind), ISTIO_NAMESPACE and
TRUST_DOMAIN. An unreachable cluster or a namespace that does not exist fails
in seconds with the cause named.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			opts := doctor.Options{Namespace: namespace, MeshNamespace: cfg.IstioNamespace, TrustDomain: cfg.TrustDomain, CallTimeout: 10 * time.Second}
			var r doctor.Report
			k, err := doctorClient(cmd.Context(), cfg)
			if err == nil {
				var s doctor.Snapshot
				s, err = doctor.Gather(cmd.Context(), k, opts)
				r = doctor.Judge(s)
			}
			if err != nil {
				r = doctor.GatherFailed(opts, err)
			}
			if asJSON {
				b, jerr := r.JSON()
				if jerr != nil {
					return jerr
				}
				fmt.Println(string(b))
			} else if err := r.Render(os.Stdout); err != nil {
				return err
			}
			if r.Failed() {
				return exitError{code: 1, err: fmt.Errorf("doctor: namespace %s fails %s", namespace, failedSteps(r))}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace to check")
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}

// doctorClient reaches the settings' cluster without creating anything: a
// kind cluster must exist already.
func doctorClient(ctx context.Context, cfg *config.Config) (*kube.Kube, error) {
	if cfg.ClusterMode == config.ClusterKind {
		ok, err := cluster.KindExists(cfg.KindCluster)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no kind cluster %q (CLUSTER_MODE=kind): set CLUSTER_MODE=existing and KUBECONFIG for another cluster", cfg.KindCluster)
		}
	}
	return clusterClient(ctx, cfg, "doctor")
}

func failedSteps(r doctor.Report) string {
	var out []string
	for _, s := range r.Steps {
		if s.State == doctor.Fail {
			out = append(out, fmt.Sprintf("step %d (%s)", s.Number, s.Check))
		}
	}
	return fmt.Sprint(out)
}
