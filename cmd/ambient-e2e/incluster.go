package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/ambient-e2e/ambient-e2e/harness/cluster"
	"github.com/ambient-e2e/ambient-e2e/harness/config"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/incluster"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/mesh"
	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
	"github.com/ambient-e2e/ambient-e2e/reports/conformance"
)

// inClusterCmd is the runner's side, inside the Job's pod.
func inClusterCmd() *cobra.Command {
	c := &cobra.Command{
		Use:    "in-cluster",
		Short:  "The in-cluster runner's commands (inside the Job's pod; ambient-e2e run --in-cluster starts it)",
		Hidden: true,
	}
	c.AddCommand(
		&cobra.Command{
			Use:   "runner",
			Short: "Run the compiled suite with the pod's ServiceAccount, pack the results and wait until they are retrieved",
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return inClusterRunner(cmd.Context()) },
		},
		&cobra.Command{
			Use:   "results",
			Short: "Write the results tarball to stdout",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				f, err := os.Open(incluster.Tarball)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = io.Copy(os.Stdout, f)
				return err
			},
		},
		&cobra.Command{
			Use:   "retrieved",
			Short: "Tell the runner its results were retrieved: it exits",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return os.WriteFile(incluster.Retrieved, nil, 0o644)
			},
		},
		&cobra.Command{
			Use:   "interrupt",
			Short: "Interrupt the runner (PID 1) as Ctrl-C interrupts a run: the suite cleans up and writes its reports",
			Args:  cobra.NoArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return syscall.Kill(1, syscall.SIGINT) },
		},
	)
	return c
}

// retrieveBound bounds how long the runner waits for its results to be taken.
const retrieveBound = 15 * time.Minute

func inClusterRunner(ctx context.Context) error {
	if err := incluster.WriteKubeconfig(incluster.Kubeconfig, incluster.ServiceAccountDir); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	runErr := runSuite(ctx, false, "")
	f, err := os.Create(incluster.Tarball)
	if err != nil {
		return errors.Join(runErr, err)
	}
	if err := incluster.PackDir(setup.ReportDir(cfg), f); err != nil {
		f.Close()
		return errors.Join(runErr, err)
	}
	size, _ := f.Seek(0, io.SeekCurrent)
	if err := f.Close(); err != nil {
		return errors.Join(runErr, err)
	}
	status := "passed"
	if runErr != nil {
		status = "failed: " + runErr.Error()
	}
	fmt.Printf("%s (%d bytes; the run %s); waiting up to %s for them to be retrieved\n", incluster.ReadyMarker, size, status, retrieveBound)
	err = wait.Waiter{Every: time.Minute}.For(ctx, "the results to be retrieved", retrieveBound, func(context.Context) (bool, string, error) {
		_, err := os.Stat(incluster.Retrieved)
		return err == nil, "not yet", nil
	})
	if err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Println("ambient-e2e in-cluster: results retrieved")
	return runErr
}

// neverPassed are settings the runner sets itself; a secret-looking one is
// never written into the Job.
var secretLike = regexp.MustCompile(`(?i)(token|password|secret|credential|apikey|api_key)`)

// neverPassed: the runner's own settings, and the config file's path (the
// file itself goes as a ConfigMap).
func neverPassed(name string) bool {
	return slices.Contains(runinfo.InClusterRunnerSettings, name) || name == config.ConfigEnv || strings.HasPrefix(name, "KIND_")
}

// jobEnv is the settings the caller took from its environment, passed to
// the Job unchanged (the config file goes as a ConfigMap).
func jobEnv(cfg *config.Config) (map[string]string, []string) {
	env := map[string]string{}
	var refused []string
	for name, src := range cfg.Sources {
		if src != config.SourceEnv || neverPassed(name) {
			continue
		}
		if secretLike.MatchString(name) {
			refused = append(refused, name)
			continue
		}
		env[name] = cfg.Values[name]
	}
	return env, refused
}

// runInCluster is ambient-e2e run --in-cluster: the suite as a Job in the
// cluster it judges, its output shown live, its results retrieved, and
// everything it created removed (also on Ctrl-C).
func runInCluster(ctx context.Context, tags, push string) error {
	ctx = context.WithoutCancel(ctx)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.MeshMode != config.MeshPreinstalled {
		return fmt.Errorf("--in-cluster judges a mesh that is there: set MESH_MODE=preinstalled (the Job never installs Istio: that needs more than its least-privileged role)")
	}
	wd, _ := os.Getwd()
	root, err := image.ModuleRoot(wd)
	if err != nil {
		return err
	}
	if cfg.ClusterMode == config.ClusterKind {
		ok, err := cluster.KindExists(cfg.KindCluster)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no kind cluster %q: --in-cluster runs in a cluster that is there", cfg.KindCluster)
		}
	} else if push == "" {
		return errors.New("--in-cluster on an existing cluster: its nodes pull the runner and probe images; give a registry they pull from with --push REGISTRY/PATH (PUSH=)")
	}
	cl, err := kindCluster(ctx, cfg)
	if err != nil {
		return err
	}
	rc, err := cl.RESTConfig()
	if err != nil {
		return err
	}
	runID := cfg.RunID
	if runID == "" {
		runID = setup.NewRunID()
	}
	k, err := kube.New(rc, cl.Kubeconfig, cl.Context, runID)
	if err != nil {
		return err
	}

	// The images: the probe and the runner, loaded into kind's nodes (their
	// tags hash their content) or pushed and pinned by digest.
	outDir := filepath.Join(cfg.CacheDir, "images")
	t0 := time.Now()
	policy := corev1.PullNever
	if push != "" {
		policy = corev1.PullIfNotPresent
	}
	// ship loads a built image into kind's nodes, or pushes it and returns
	// the pushed reference pinned by digest.
	ship := func(b image.Built, name string) (string, error) {
		if push != "" {
			return image.Push(ctx, b, push+"/"+name)
		}
		return b.Ref, cl.LoadImageArchive(b.Archive, b.Ref, say)
	}
	runner, err := incluster.BuildRunner(ctx, root, outDir, runtime.GOARCH, tags, say)
	if err != nil {
		return err
	}
	runnerRef, err := ship(runner, "runner")
	if err != nil {
		return err
	}
	probeRef := cfg.ProbeImage // a probe image the nodes pull already
	if probeRef == "" {
		probe, err := image.Build(ctx, root, outDir, runtime.GOARCH)
		if err != nil {
			return err
		}
		if probeRef, err = ship(probe, "probe"); err != nil {
			return err
		}
	}
	say(fmt.Sprintf("ambient-e2e run --in-cluster: runner %s, probe %s (%s)", runnerRef, probeRef, time.Since(t0).Round(time.Second)))

	env, refused := jobEnv(cfg)
	if len(refused) > 0 {
		say("not passed to the Job (they look like secrets): " + strings.Join(refused, ", "))
	}
	env["PROBE_IMAGE"] = probeRef
	var configText string
	if cfg.ConfigFile != "" {
		b, err := os.ReadFile(cfg.ConfigFile)
		if err != nil {
			return err
		}
		configText = string(b)
	}
	rev := cfg.IstioRevision
	if rev == "" {
		if rev, err = mesh.DiscoverRevision(ctx, k, cfg.IstioNamespace); err != nil {
			return err
		}
	}
	o := incluster.Options{
		RunID: runID, Image: runnerRef, PullPolicy: policy, Env: env, Config: configText, Revision: rev,
		Deadline: cfg.SuiteTimeout + 30*time.Minute, OwnedLabel: kube.OwnedLabel, RunLabel: kube.RunLabel,
	}
	objs := incluster.Objects(o)
	created := []client.Object{}
	defer func() { removeRunner(k, o, created) }()
	for _, obj := range objs {
		if err := k.Res().Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s: %w", incluster.Describe(obj), err)
		}
		created = append(created, obj)
		say("created " + incluster.Describe(obj))
	}
	reportDir := setup.ReportDir(cfg)
	pod, err := waitRunnerPod(ctx, k, o, sigs)
	if err != nil {
		return err
	}
	ready, interrupted := followRunner(ctx, k, o, pod, sigs)
	if !ready {
		return errors.New("the runner never said its results were ready (see its log above); everything it created is removed")
	}
	n, err := retrieve(ctx, k, o.Namespace(), pod, reportDir)
	if err != nil {
		return err
	}
	say(fmt.Sprintf("retrieved %d files into %s", n, reportDir))
	code := runnerExitCode(ctx, k, o.Namespace(), pod)
	if r, err := conformance.Load(filepath.Join(reportDir, "conformance-report.yaml")); err == nil {
		say(fmt.Sprintf("conformance report (%s): %s", r.Result, filepath.Join(reportDir, "conformance-report.yaml")))
	}
	switch {
	case interrupted:
		return exitError{code: 130, err: errors.New("interrupted: the suite cleaned up in the cluster and its reports were retrieved")}
	case code != 0:
		return exitError{code: code, err: fmt.Errorf("the suite failed in the cluster (exit %d): see the report", code)}
	}
	return nil
}

// hopeless are the reasons a pod waits that waiting does not fix.
var hopeless = map[string]bool{
	"ErrImageNeverPull": true, "ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true,
}

// waitRunnerPod waits (bounded, with progress) until the Job's pod runs.
func waitRunnerPod(ctx context.Context, k *kube.Kube, o incluster.Options, sigs <-chan os.Signal) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errInterrupted := exitError{code: 130, err: errors.New("interrupted before the runner started")}
	go func() {
		select {
		case <-sigs:
			cancel(errInterrupted)
		case <-ctx.Done():
		}
	}()
	var pod string
	err := wait.For(ctx, "the runner pod to start", 5*time.Minute, func(ctx context.Context) (bool, string, error) {
		var pods corev1.PodList
		if err := k.Res().WithNamespace(o.Namespace()).List(ctx, &pods, resources.WithLabelSelector(o.Selector())); err != nil {
			return false, "", err
		}
		state := "no pod yet"
		for _, p := range pods.Items {
			state = string(p.Status.Phase)
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil {
					state += " (" + w.Reason + ")"
					if hopeless[w.Reason] {
						return false, state, wait.Permanent(fmt.Errorf("the runner pod cannot start: %s: %s", w.Reason, w.Message))
					}
				}
			}
			if p.Status.Phase != corev1.PodPending {
				pod = p.Name
				return true, state, nil
			}
		}
		return false, state, nil
	})
	if errors.Is(context.Cause(ctx), errInterrupted) {
		return "", errInterrupted
	}
	return pod, err
}

// followRunner shows the runner's log live until it says its results are
// ready. The first signal interrupts the suite inside (it cleans up and
// reports, and the results are still retrieved); a second stops following.
func followRunner(ctx context.Context, k *kube.Kube, o incluster.Options, pod string, sigs <-chan os.Signal) (ready, interrupted bool) {
	cs, err := k.Clientset()
	if err != nil {
		say("cannot follow the runner's log: " + err.Error())
		return false, false
	}
	lines := make(chan string)
	done := make(chan error, 1)
	logCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		stream, err := cs.CoreV1().Pods(o.Namespace()).GetLogs(pod, &corev1.PodLogOptions{Container: incluster.Container, Follow: true}).Stream(logCtx)
		if err != nil {
			done <- err
			return
		}
		defer stream.Close()
		sc := bufio.NewScanner(stream)
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-logCtx.Done():
				return
			}
		}
		done <- sc.Err()
	}()
	for {
		select {
		case l := <-lines:
			fmt.Println(l)
			if strings.HasPrefix(l, incluster.ReadyMarker) {
				return true, interrupted
			}
		case err := <-done:
			if err != nil {
				say("the runner's log ended: " + err.Error())
			}
			return false, interrupted
		case sig := <-sigs:
			if interrupted {
				say("ambient-e2e run --in-cluster: a second signal: removing the runner without its results")
				return false, true
			}
			interrupted = true
			say(fmt.Sprintf("\nambient-e2e run --in-cluster: %s: interrupting the suite in the cluster; it cleans up and writes its reports, which are then retrieved (another signal removes the runner at once)", sig))
			if _, err := k.Exec(ctx, o.Namespace(), pod, incluster.Container, []string{incluster.Binary, "in-cluster", "interrupt"}); err != nil {
				say("could not interrupt the runner: " + err.Error())
			}
		}
	}
}

// retrieve copies the runner's results tarball into reportDir and tells
// the runner it may exit.
func retrieve(ctx context.Context, k *kube.Kube, namespace, pod, reportDir string) (int, error) {
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	var stderr strings.Builder
	go func() {
		pw.CloseWithError(k.ExecStream(ctx, namespace, pod, incluster.Container, []string{incluster.Binary, "in-cluster", "results"}, pw, &stderr))
	}()
	n, err := incluster.Unpack(pr, reportDir)
	_ = pr.Close()
	if err != nil {
		return n, fmt.Errorf("retrieving the results from %s/%s: %w %s", namespace, pod, err, stderr.String())
	}
	if _, err := k.Exec(ctx, namespace, pod, incluster.Container, []string{incluster.Binary, "in-cluster", "retrieved"}); err != nil {
		say("could not tell the runner its results were retrieved (it is removed anyway): " + err.Error())
	}
	return n, nil
}

// runnerExitCode waits (bounded) for the runner to exit and returns its
// code; 1 when it did not exit in time.
func runnerExitCode(ctx context.Context, k *kube.Kube, namespace, pod string) int {
	code := 1
	_ = wait.For(ctx, "the runner to exit", 30*time.Second, func(ctx context.Context) (bool, string, error) {
		var p corev1.Pod
		if err := k.Res().Get(ctx, pod, namespace, &p); err != nil {
			return false, "", wait.Permanent(err)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				code = int(t.ExitCode)
				return true, "exited", nil
			}
		}
		return false, string(p.Status.Phase), nil
	})
	return code
}

// removeRunner deletes what the in-cluster run created, in reverse order,
// waiting (bounded) for its namespace to go, and says what it removed.
func removeRunner(k *kube.Kube, o incluster.Options, created []client.Object) {
	ctx := context.Background()
	var removed []string
	for i := len(created) - 1; i >= 0; i-- {
		obj := created[i]
		if _, isNamespace := obj.(*corev1.Namespace); isNamespace || obj.GetNamespace() == o.Namespace() {
			continue // the namespace and what is in it: below
		}
		policy := metav1.DeletePropagationBackground
		if err := k.Res().Delete(ctx, obj, resources.WithDeletePropagation(string(policy))); err != nil && !apierrors.IsNotFound(err) {
			say(fmt.Sprintf("could not delete %s: %v (make sweep removes it)", incluster.Describe(obj), err))
			continue
		}
		removed = append(removed, incluster.Describe(obj))
	}
	if len(created) > 0 {
		if err := k.DeleteNamespace(ctx, o.Namespace(), 2*time.Minute); err != nil {
			say(fmt.Sprintf("namespace %s: %v (make sweep removes it)", o.Namespace(), err))
		} else {
			removed = append(removed, "Namespace "+o.Namespace())
		}
	}
	if len(removed) > 0 {
		say("ambient-e2e run --in-cluster: removed " + strings.Join(removed, ", ") + " and everything in it")
	}
}

// retrieveCmd copies an in-cluster run's results when the caller lost it
// (ambient-e2e run --in-cluster retrieves them itself).
func retrieveCmd() *cobra.Command {
	var runID string
	c := &cobra.Command{
		Use:   "retrieve --run RUN_ID",
		Short: "Copy an in-cluster run's results (reports, junit, report.json, e2e.log, failure bundles) into REPORT_DIR",
		Long: `retrieve copies the results tarball of an in-cluster run whose runner is
waiting for them (ambient-e2e run --in-cluster does it itself at the end; use
this when that process was lost) into REPORT_DIR and lets the runner exit.
Remove the runner afterwards with make sweep.`,
		Args: cobra.NoArgs,
		RunE: configured(func(ctx context.Context, cfg *config.Config, _ []string) error {
			k, err := doctorClient(ctx, cfg)
			if err != nil {
				return err
			}
			o := incluster.Options{RunID: runID, OwnedLabel: kube.OwnedLabel, RunLabel: kube.RunLabel}
			var pods corev1.PodList
			if err := k.Res().WithNamespace(o.Namespace()).List(ctx, &pods, resources.WithLabelSelector(o.Selector())); err != nil {
				return err
			}
			if len(pods.Items) == 0 {
				return fmt.Errorf("no runner pod of run %s in namespace %s", runID, o.Namespace())
			}
			dir := setup.ReportDir(cfg)
			n, err := retrieve(ctx, k, o.Namespace(), pods.Items[0].Name, dir)
			if err != nil {
				return err
			}
			say(fmt.Sprintf("retrieved %d files into %s", n, dir))
			return nil
		}),
	}
	c.Flags().StringVar(&runID, "run", "", "the in-cluster run's RUN_ID")
	_ = c.MarkFlagRequired("run")
	return c
}
