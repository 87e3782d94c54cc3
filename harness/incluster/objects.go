// Package incluster runs the suite inside the cluster it judges, as a Job:
// the runner image (the compiled suite, the Ginkgo CLI and ambient-e2e, on
// an empty base), the objects the Job needs (a namespace, a ServiceAccount
// bound to the least-privileged ClusterRole of Rules, the config file as a
// ConfigMap, the Job), the runner's side inside the pod (a kubeconfig from
// its ServiceAccount, the results as a tarball) and the caller's side
// (retrieving the tarball through exec and unpacking it).
package incluster

import (
	"reflect"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ambient-e2e/ambient-e2e/harness/runinfo"
)

// Paths inside the runner's container.
const (
	ResultsDir  = "/results"              // an emptyDir: the reports and the tarball
	ReportDir   = ResultsDir + "/reports" // REPORT_DIR of the run inside
	Tarball     = ResultsDir + "/results.tar.gz"
	Retrieved   = ResultsDir + "/.retrieved" // written once the caller has the tarball
	TmpDir      = "/tmp"                     // an emptyDir: HOME, WORK_DIR, the kubeconfig
	Kubeconfig  = TmpDir + "/kubeconfig"
	ConfigDir   = "/config" // the config file's ConfigMap
	ConfigPath  = ConfigDir + "/config.yaml"
	Binary      = "/ambient-e2e"
	GinkgoCLI   = "/ginkgo"
	SuiteBinary = "/suite/ambient.test"
	Container   = "runner"
)

// ReadyMarker is the line the runner prints once the results tarball is
// written: the caller retrieves it then.
const ReadyMarker = "ambient-e2e in-cluster: results ready"

// Options say what to create for one in-cluster run.
type Options struct {
	// RunID is the suite's run inside; the runner's own objects carry the
	// run label RunID+"-runner", so the suite's teardown (which removes
	// everything of its run) never removes the runner.
	RunID string
	// Image is the runner image (a content-hashed tag loaded into kind
	// nodes, or a pushed reference pinned by digest); PullPolicy matches.
	Image      string
	PullPolicy corev1.PullPolicy
	// Env are the settings passed to the run unchanged (never secrets).
	Env map[string]string
	// Config is the config file the run reads ("" for none).
	Config string
	// Revision is the mesh's revision ("" for the default): the mesh
	// objects the role names are its.
	Revision string
	// Deadline bounds the Job (its activeDeadlineSeconds).
	Deadline time.Duration
	// OwnedLabel and RunLabel are the suite's ownership labels.
	OwnedLabel, RunLabel string
}

// Names of the runner's objects.
func (o Options) Namespace() string  { return "ambient-e2e-runner-" + o.RunID }
func (o Options) RoleName() string   { return "ambient-e2e-runner-" + o.RunID }
func (o Options) RunnerRun() string  { return o.RunID + "-runner" }
func (o Options) JobName() string    { return "ambient-e2e" }
func (o Options) Account() string    { return "ambient-e2e-runner" }
func (o Options) ConfigName() string { return "ambient-e2e-config" }

// Selector selects the runner's objects.
func (o Options) Selector() string { return o.RunLabel + "=" + o.RunnerRun() }

func (o Options) labels() map[string]string {
	return map[string]string{o.OwnedLabel: "true", o.RunLabel: o.RunnerRun()}
}

// Objects are what an in-cluster run creates, in the order to create them
// (the reverse is the order to delete them).
func Objects(o Options) []client.Object {
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: o.labels()}
	}
	ns := o.Namespace()
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: meta(ns, "")},
		&corev1.ServiceAccount{ObjectMeta: meta(o.Account(), ns)},
		ClusterRole(o.RoleName(), o.labels(), o.Revision),
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: meta(o.RoleName(), ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.RoleName()},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: o.Account(), Namespace: ns}},
		},
	}
	env := []corev1.EnvVar{
		{Name: "RUN_ID", Value: o.RunID},
		{Name: "CLUSTER_MODE", Value: "existing"},
		{Name: "KUBECONFIG", Value: Kubeconfig},
		{Name: "REPORT_DIR", Value: ReportDir},
		{Name: "WORK_DIR", Value: TmpDir + "/work"},
		{Name: "CACHE_DIR", Value: TmpDir + "/cache"},
		{Name: "HOME", Value: TmpDir},
		{Name: runinfo.InClusterEnv, Value: "1"},
	}
	fixed := map[string]bool{}
	for _, e := range env {
		fixed[e.Name] = true
	}
	var names []string
	for k := range o.Env {
		if !fixed[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, corev1.EnvVar{Name: k, Value: o.Env[k]})
	}
	volumes := []corev1.Volume{
		{Name: "results", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	mounts := []corev1.VolumeMount{{Name: "results", MountPath: ResultsDir}, {Name: "tmp", MountPath: TmpDir}}
	if o.Config != "" {
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: meta(o.ConfigName(), ns), Data: map[string]string{"config.yaml": o.Config}})
		volumes = append(volumes, corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: o.ConfigName()}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "config", MountPath: ConfigDir, ReadOnly: true})
		env = append(env, corev1.EnvVar{Name: "AMBIENT_E2E_CONFIG", Value: ConfigPath})
	}
	deadline := int64(o.Deadline.Seconds())
	objs = append(objs, &batchv1.Job{
		ObjectMeta: meta(o.JobName(), ns),
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](0),
			ActiveDeadlineSeconds: &deadline,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: o.labels()},
				Spec: corev1.PodSpec{
					ServiceAccountName: o.Account(),
					RestartPolicy:      corev1.RestartPolicyNever,
					// The runner passes a termination on to the suite, which
					// cleans up its namespaces and writes its reports.
					TerminationGracePeriodSeconds: ptr.To[int64](60),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Volumes: volumes,
					Containers: []corev1.Container{{
						Name: Container, Image: o.Image, ImagePullPolicy: o.PullPolicy,
						Args: []string{"in-cluster", "runner"},
						Env:  env, VolumeMounts: mounts,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	})
	return objs
}

// ClusterRole is the runner's role: exactly the table's rules for the
// mesh's revision.
func ClusterRole(name string, labels map[string]string, revision string) *rbacv1.ClusterRole {
	r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	for _, rule := range RulesFor(revision) {
		r.Rules = append(r.Rules, rbacv1.PolicyRule{APIGroups: rule.APIGroups, Resources: rule.Resources, Verbs: rule.Verbs, ResourceNames: rule.ResourceNames})
	}
	return r
}

// Describe names an object for progress lines, e.g. "Job ns/name".
func Describe(obj client.Object) string {
	kind := reflect.TypeOf(obj).Elem().Name() // typed objects carry no TypeMeta here
	if obj.GetNamespace() == "" {
		return kind + " " + obj.GetName()
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}
