// Package cluster provides the Kubernetes cluster the suite runs against:
// a kind cluster it creates or reuses by name, or an existing cluster named
// by a kubeconfig and context. It never creates anything in existing mode.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
	"sigs.k8s.io/yaml"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Cluster is the cluster of one suite run.
type Cluster struct {
	Name       string // kind cluster name; empty in existing mode
	Kubeconfig string // path to a kubeconfig file
	Context    string // context in Kubeconfig; empty = current
	Created    bool   // true when this run created it (and so may delete it)

	provider *kindcluster.Provider
}

// KindOptions says which kind cluster to create or reuse.
type KindOptions struct {
	Name          string
	NodeImage     string
	Config        []byte // kind v1alpha4 Cluster YAML
	APIServerPort int    // 0 = any
	WorkDir       string // where the kubeconfig is written
	WaitForReady  time.Duration
}

// KindConfig parses a kind cluster config and applies the options to it.
func KindConfig(raw []byte, apiServerPort int) (*v1alpha4.Cluster, error) {
	var cfg v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return nil, fmt.Errorf("kind config: %w", err)
	}
	if apiServerPort != 0 {
		cfg.Networking.APIServerPort = int32(apiServerPort)
	}
	return &cfg, nil
}

// EnsureKind reuses the kind cluster named opts.Name, or creates it.
func EnsureKind(ctx context.Context, opts KindOptions, progress func(string)) (*Cluster, error) {
	p := kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindcmd.NewLogger()))
	names, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("listing kind clusters: %w", err)
	}
	c := &Cluster{Name: opts.Name, provider: p, Kubeconfig: filepath.Join(opts.WorkDir, "kubeconfig-"+opts.Name)}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, err
	}
	if slices.Contains(names, opts.Name) {
		progress(fmt.Sprintf("reusing kind cluster %q", opts.Name))
	} else {
		cfg, err := KindConfig(opts.Config, opts.APIServerPort)
		if err != nil {
			return nil, err
		}
		progress(fmt.Sprintf("creating kind cluster %q (%d nodes) from %s; this takes a minute or two", opts.Name, len(cfg.Nodes), opts.NodeImage))
		start := time.Now()
		done := make(chan error, 1)
		go func() {
			done <- p.Create(opts.Name,
				kindcluster.CreateWithV1Alpha4Config(cfg),
				kindcluster.CreateWithNodeImage(opts.NodeImage),
				kindcluster.CreateWithWaitForReady(opts.WaitForReady),
				kindcluster.CreateWithKubeconfigPath(c.Kubeconfig),
				kindcluster.CreateWithDisplayUsage(false),
				kindcluster.CreateWithDisplaySalutation(false))
		}()
		select {
		case err := <-done:
			if err != nil {
				return nil, fmt.Errorf("creating kind cluster %q: %w", opts.Name, err)
			}
		case <-ctx.Done():
			// kind cannot be cancelled; wait for it, then remove what it made.
			progress("interrupted: waiting for kind to stop, then deleting the half-made cluster")
			if err := <-done; err == nil {
				progress("kind finished creating; deleting it")
			}
			_ = p.Delete(opts.Name, c.Kubeconfig)
			return nil, ctx.Err()
		}
		c.Created = true
		progress(fmt.Sprintf("created kind cluster %q in %s", opts.Name, time.Since(start).Round(time.Second)))
	}
	kc, err := p.KubeConfig(opts.Name, false)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %q: %w", opts.Name, err)
	}
	if err := os.WriteFile(c.Kubeconfig, []byte(kc), 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// Existing uses the cluster of a kubeconfig and context; it creates nothing.
func Existing(kubeconfig, context string) (*Cluster, error) {
	if _, err := os.Stat(kubeconfig); err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w", kubeconfig, err)
	}
	return &Cluster{Kubeconfig: kubeconfig, Context: context}, nil
}

// Attach returns a handle on a cluster another process prepared (parallel
// Ginkgo processes receive it from the first one).
func Attach(name, kubeconfig, context string) *Cluster {
	c := &Cluster{Name: name, Kubeconfig: kubeconfig, Context: context}
	if name != "" {
		c.provider = kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(kindcmd.NewLogger()))
	}
	return c
}

// IsKind reports whether nodes are kind containers (so images can be loaded).
func (c *Cluster) IsKind() bool { return c.provider != nil }

// RESTConfig loads the client configuration and fails clearly on a broken kubeconfig.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("invalid kubeconfig %s (context %q): %w", c.Kubeconfig, c.Context, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Reachable asks the API server for its version within timeout.
func (c *Cluster) Reachable(ctx context.Context, timeout time.Duration) (string, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return "", err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = timeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := dc.ServerVersion()
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{v: v.GitVersion}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("API server %s is not reachable: %w", cfg.Host, r.err)
		}
		return r.v, nil
	case <-time.After(timeout + time.Second):
		return "", fmt.Errorf("API server %s did not answer within %s", cfg.Host, timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// LoadImageArchive loads a docker-archive image into every node that lacks
// ref (any image under ref counts: the probe's tag is its content hash).
func (c *Cluster) LoadImageArchive(archive, ref string, progress func(string)) error {
	_, err := c.LoadImage(archive, ref, "", progress)
	return err
}

// LoadImage makes the archive's image present under ref on every node. With
// id (the image's ID) set, a node holding another image under ref gets the
// archive too (a new build under the same reference), the load is checked
// against id, and the nodes where an image was replaced are returned: their
// running containers still run the old one. With id empty, any image under
// ref counts as present.
func (c *Cluster) LoadImage(archive, ref, id string, progress func(string)) (replaced []string, err error) {
	if c.provider == nil {
		return nil, errors.New("images can only be loaded into kind nodes; on another cluster push the image to a registry its nodes pull from (for the probe: PROBE_IMAGE)")
	}
	nodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return nil, fmt.Errorf("listing nodes of kind cluster %q: %w", c.Name, err)
	}
	for _, n := range nodes {
		have, _ := nodeutils.ImageID(n, ref)
		if have != "" && (id == "" || have == id) {
			continue
		}
		f, err := os.Open(archive)
		if err != nil {
			return replaced, err
		}
		err = nodeutils.LoadImageArchive(n, f)
		_ = f.Close()
		if err != nil {
			return replaced, fmt.Errorf("loading %s into node %s: %w", ref, n.String(), err)
		}
		if id == "" {
			progress(fmt.Sprintf("loaded %s into node %s", ref, n.String()))
			continue
		}
		if got, err := nodeutils.ImageID(n, ref); err != nil || got != id {
			return replaced, fmt.Errorf("node %s: after loading %s, %s is image %q, not %s", n.String(), archive, ref, got, id)
		}
		if have != "" {
			replaced = append(replaced, n.String())
			progress(fmt.Sprintf("loaded %s into node %s (replacing image %s)", ref, n.String(), have))
		} else {
			progress(fmt.Sprintf("loaded %s into node %s", ref, n.String()))
		}
	}
	return replaced, nil
}

// Delete removes a kind cluster; it refuses for clusters it does not own.
func (c *Cluster) Delete() error {
	if c.provider == nil || c.Name == "" {
		return errors.New("not a kind cluster: nothing to delete")
	}
	return c.provider.Delete(c.Name, c.Kubeconfig)
}

// KindExists reports whether a kind cluster of this name exists.
func KindExists(name string) (bool, error) {
	names, err := kindcluster.NewProvider(kindcluster.ProviderWithDocker()).List()
	if err != nil {
		return false, err
	}
	return slices.Contains(names, name), nil
}

// PullAndLoad makes image present on every node of the kind cluster, with
// one pull on the host instead of one per node (Docker Hub's anonymous pull
// limits on shared CI runners), before any spec's clock runs: nothing when
// every node has it; otherwise `docker pull` on the host unless the host has
// it (bounded by pullTimeout), `docker save`, and a load into the nodes that
// lack it. The outcome says what happened and how long it took; a failure
// is an outcome, not an error: the nodes may still pull it themselves.
func (c *Cluster) PullAndLoad(ctx context.Context, image, tmpDir string, pullTimeout time.Duration, progress func(string)) runinfo.ImagePull {
	start := time.Now()
	res := runinfo.ImagePull{Image: image}
	done := func(outcome string) runinfo.ImagePull {
		res.Outcome, res.Seconds = outcome, time.Since(start).Seconds()
		return res
	}
	if c.provider == nil {
		return done("failed: images can only be loaded into kind nodes")
	}
	nodes, err := c.provider.ListInternalNodes(c.Name)
	if err != nil {
		return done("failed: listing nodes: " + err.Error())
	}
	missing := 0
	for _, n := range nodes {
		if id, err := nodeutils.ImageID(n, image); err != nil || id == "" {
			missing++
		}
	}
	if missing == 0 {
		return done("present")
	}
	outcome := "loaded"
	if err := docker(ctx, 30*time.Second, "image", "inspect", "--format", "{{.Id}}", image); err != nil {
		progress(fmt.Sprintf("pulling %s on the host (bounded by %s)", image, pullTimeout))
		if err := docker(ctx, pullTimeout, "pull", image); err != nil {
			return done("failed: " + err.Error())
		}
		outcome = "pulled"
	}
	archive := filepath.Join(tmpDir, strings.NewReplacer("/", "_", ":", "_", "@", "_").Replace(image)+".tar")
	defer func() { _ = os.Remove(archive) }()
	if err := docker(ctx, pullTimeout, "save", "-o", archive, image); err != nil {
		return done("failed: " + err.Error())
	}
	if err := c.LoadImageArchive(archive, image, progress); err != nil {
		return done("failed: " + err.Error())
	}
	return done(outcome)
}

// docker runs one docker command with a bound; the error carries the
// command's last output line.
func docker(ctx context.Context, timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("docker %s did not finish within %s", args[0], timeout)
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("docker %s: %w: %s", args[0], err, lines[len(lines)-1])
	}
	return nil
}
