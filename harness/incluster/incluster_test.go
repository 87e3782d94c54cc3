package incluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
)

func opts() Options {
	return Options{RunID: "abc123", Image: "ambient-e2e.local/runner:0123456789abcdef", PullPolicy: corev1.PullNever,
		Env: map[string]string{"MESH_MODE": "preinstalled", "POLICY_TIMEOUT": "15s", "REPORT_DIR": "/elsewhere"}, Config: "reportMode: default\n",
		Deadline: time.Hour, OwnedLabel: "ambient-e2e.io/owned", RunLabel: "ambient-e2e.io/run"}
}

// The runner gets exactly the table's rules: its one ClusterRole, bound
// once, grants nothing the table does not list, and nothing else binds it.
func TestTheRunnerIsGrantedExactlyTheTable(t *testing.T) {
	var roles []*rbacv1.ClusterRole
	var bindings []*rbacv1.ClusterRoleBinding
	for _, o := range Objects(opts()) {
		switch v := o.(type) {
		case *rbacv1.ClusterRole:
			roles = append(roles, v)
		case *rbacv1.ClusterRoleBinding:
			bindings = append(bindings, v)
		case *rbacv1.Role, *rbacv1.RoleBinding:
			t.Errorf("%s: the runner's rights are the ClusterRole's only", Describe(o))
		}
	}
	if len(roles) != 1 || len(bindings) != 1 {
		t.Fatalf("%d ClusterRoles and %d bindings, want one of each", len(roles), len(bindings))
	}
	if extra := Grants(roles[0].Rules, ""); len(extra) > 0 {
		t.Errorf("the runner's role grants more than the table lists: %q", extra)
	}
	b := bindings[0]
	if b.RoleRef.Name != roles[0].Name || len(b.Subjects) != 1 || b.Subjects[0].Name != opts().Account() || b.Subjects[0].Namespace != opts().Namespace() {
		t.Errorf("binding %+v: want the runner's role to its ServiceAccount only", b)
	}
}

func TestGrantsNamesWhatTheTableDoesNotList(t *testing.T) {
	extra := Grants([]rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"*"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"watch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"update"}, ResourceNames: []string{"istio"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: []string{"istio", "kubeadm-config"}},
	}, "")
	want := []string{`resource "secrets"`, "wildcard", `verb "watch"`, `resource "configmaps" verb "update"`, "names [istio kubeadm-config]"}
	if len(extra) != len(want) {
		t.Fatalf("extra = %q", extra)
	}
	for i, w := range want {
		if !strings.Contains(extra[i], w) {
			t.Errorf("extra[%d] = %q, want %q", i, extra[i], w)
		}
	}
}

// A revision's mesh objects are named in the role, and only they.
func TestTheRoleNamesTheRevisionsMeshObjects(t *testing.T) {
	o := opts()
	o.Revision = "1-31"
	var role *rbacv1.ClusterRole
	for _, obj := range Objects(o) {
		if r, ok := obj.(*rbacv1.ClusterRole); ok {
			role = r
		}
	}
	var names []string
	for _, r := range role.Rules {
		names = append(names, r.ResourceNames...)
	}
	got := strings.Join(names, ",")
	if !strings.Contains(got, "istio-1-31") || !strings.Contains(got, "istiod-1-31") || strings.Contains(got, "istio,") {
		t.Fatalf("names %s", got)
	}
	if extra := Grants(role.Rules, "1-31"); len(extra) > 0 {
		t.Errorf("%q", extra)
	}
	if extra := Grants(role.Rules, ""); len(extra) != 3 {
		t.Errorf("the revision's role judged by the default revision's table: %q, want the 3 renamed grants", extra)
	}
}

func TestTheJobRunsTheSettingsUnchangedAndSafely(t *testing.T) {
	var job *batchv1.Job
	var cm *corev1.ConfigMap
	for _, o := range Objects(opts()) {
		if o.GetLabels()["ambient-e2e.io/run"] != "abc123-runner" || o.GetLabels()["ambient-e2e.io/owned"] != "true" {
			t.Errorf("%s: labels %v, want owned and run abc123-runner (never the suite's run, which its teardown sweeps)", Describe(o), o.GetLabels())
		}
		switch v := o.(type) {
		case *batchv1.Job:
			job = v
		case *corev1.ConfigMap:
			cm = v
		}
	}
	if job == nil || cm == nil || cm.Data["config.yaml"] != "reportMode: default\n" {
		t.Fatalf("job %v, config %v", job, cm)
	}
	if d := Describe(job); d != "Job ambient-e2e-runner-abc123/ambient-e2e" {
		t.Errorf("Describe(job) = %q", d)
	}
	c := job.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s from a reference", e.Name)
		}
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"MESH_MODE": "preinstalled", "POLICY_TIMEOUT": "15s", "RUN_ID": "abc123", "CLUSTER_MODE": "existing",
		"REPORT_DIR": ReportDir, "KUBECONFIG": Kubeconfig, "AMBIENT_E2E_CONFIG": ConfigPath} {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	if c.SecurityContext == nil || !*c.SecurityContext.ReadOnlyRootFilesystem || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("security context %+v", c.SecurityContext)
	}
	if *job.Spec.BackoffLimit != 0 || *job.Spec.ActiveDeadlineSeconds != 3600 || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("job spec %+v", job.Spec)
	}
}

func TestRulesMarkdownListsEveryRule(t *testing.T) {
	md := RulesMarkdown()
	if n := strings.Count(md, "\n"); n != len(Rules)+2 {
		t.Fatalf("%d lines for %d rules:\n%s", n, len(Rules), md)
	}
	if !strings.Contains(md, "| `core` | `pods/exec` | create | any |") || !strings.Contains(md, "| `core` | `configmaps` | get, update | `istio` |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestPackAndUnpackTheResults(t *testing.T) {
	src := t.TempDir()
	for p, c := range map[string]string{"report.json": "[]", "bundles/spec-1/pods.txt": "pods", "conformance-report.yaml": "kind: ConformanceReport"} {
		full := filepath.Join(src, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := PackDir(src, &buf); err != nil {
		t.Fatal(err)
	}
	dest := t.TempDir()
	n, err := Unpack(&buf, dest)
	if err != nil || n != 3 {
		t.Fatalf("unpacked %d files: %v", n, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "bundles/spec-1/pods.txt")); err != nil || string(b) != "pods" {
		t.Fatalf("%q %v", b, err)
	}
}

func TestUnpackRefusesAnEntryOutsideTheDirectory(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "../../etc/evil", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	_ = gz.Close()
	if _, err := Unpack(&buf, t.TempDir()); err == nil || !strings.Contains(err.Error(), "outside the report directory") {
		t.Fatalf("err = %v", err)
	}
}

func TestWriteKubeconfigUsesThePodsServiceAccount(t *testing.T) {
	sa := t.TempDir()
	for _, f := range []string{"token", "ca.crt"} {
		if err := os.WriteFile(filepath.Join(sa, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := WriteKubeconfig(p, sa); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]; c.Server != "https://10.96.0.1:443" || c.CertificateAuthority != filepath.Join(sa, "ca.crt") {
		t.Errorf("cluster %+v", c)
	}
	if a := cfg.AuthInfos["runner"]; a.TokenFile != filepath.Join(sa, "token") || a.Token != "" {
		t.Errorf("user %+v: the token file, never the token itself", a)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if err := WriteKubeconfig(p, sa); err == nil {
		t.Error("outside a pod: no error")
	}
}

// The README's table of the runner's rules is the code's
// (UPDATE_README=1 go test ./harness/incluster rewrites it).
func TestTheREADMEListsTheRunnersRules(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- rbac:begin -->\n", "<!-- rbac:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q block", begin, end)
	}
	want := RulesMarkdown()
	if got := s[i+len(begin) : j]; got != want {
		if os.Getenv("UPDATE_README") == "1" {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's table of the runner's rules is not harness/incluster.Rules: run UPDATE_README=1 go test ./harness/incluster")
	}
}
