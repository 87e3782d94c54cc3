package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{"HOME": "/h", "XDG_CACHE_HOME": "/cache"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterMode != ClusterKind || c.MeshMode != MeshInstall || c.KindCluster != "ambient-e2e" ||
		c.EnrollTimeout != 60*time.Second || c.CacheDir != "/cache/ambient-e2e" || !c.PullNodeImage || c.KeepCluster {
		t.Fatalf("%+v", c)
	}
	if !c.NeedsDocker() {
		t.Fatal("kind mode needs Docker")
	}
}

func TestEveryVariableIsDocumented(t *testing.T) {
	documented := map[string]bool{}
	for _, v := range Variables {
		documented[v.Name] = true
	}
	// Every variable FromLookup reads must be documented (XDG_CACHE_HOME and HOME are the OS's).
	seen := map[string]bool{}
	_, _ = FromLookup(func(k string) (string, bool) { seen[k] = true; return "", false })
	for k := range seen {
		if k != "XDG_CACHE_HOME" && !documented[k] {
			t.Errorf("%s is read but not in Variables", k)
		}
	}
	for k := range documented {
		if !seen[k] {
			t.Errorf("%s is documented but never read", k)
		}
	}
}

func TestBadInputIsNamed(t *testing.T) {
	_, err := FromLookup(lookup(map[string]string{
		"CLUSTER_MODE": "minikube", "MESH_MODE": "helm", "ENROLL_TIMEOUT": "soon",
		"KEEP_CLUSTER": "maybe", "KIND_API_SERVER_PORT": "99999", "RUN_ID": "bad id!",
	}))
	if err == nil {
		t.Fatal("bad input accepted")
	}
	for _, want := range []string{`CLUSTER_MODE="minikube"`, `MESH_MODE="helm"`, `ENROLL_TIMEOUT="soon"`, `KEEP_CLUSTER="maybe"`, `KIND_API_SERVER_PORT="99999"`, `RUN_ID="bad id!"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
}

func TestKubeconfigListTakesFirstPath(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{"KUBECONFIG": "/a/kc:/b/kc", "CLUSTER_MODE": "existing"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubeconfig != "/a/kc" || c.NeedsDocker() {
		t.Fatalf("%+v", c)
	}
}

func TestEveryVariableIsInTheREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables {
		if !strings.Contains(string(b), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/ambient-e2e.yaml"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFilePrecedence(t *testing.T) {
	p := writeFile(t, `
clusterMode: existing
meshMode: preinstalled
istioVersion: "1.30"
policyTimeout: 45s
keepCluster: true
procs: 2
implementation:
  organization: Example Mesh Co
  contact: mesh@example.org
`)
	c, err := Load(p, lookup(map[string]string{"POLICY_TIMEOUT": "20s", "MESH_MODE": "  ", "HOME": "/h"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClusterMode != ClusterExisting || c.IstioVersion != "1.30" || !c.KeepCluster || c.Procs != 2 {
		t.Errorf("file values not applied: %+v", c)
	}
	if c.PolicyTimeout != 20*time.Second {
		t.Errorf("the environment must override the file: POLICY_TIMEOUT=%s", c.PolicyTimeout)
	}
	if c.MeshMode != MeshPreinstalled {
		t.Errorf("a blank variable must not override the file: MESH_MODE=%s", c.MeshMode)
	}
	if c.Implementation.Organization != "Example Mesh Co" || c.Implementation.Contact != "mesh@example.org" {
		t.Errorf("implementation block: %+v", c.Implementation)
	}
	for name, want := range map[string]string{
		"POLICY_TIMEOUT": SourceEnv, "CLUSTER_MODE": "file " + p, "MESH_MODE": "file " + p,
		"IMPLEMENTATION_ORGANIZATION": "file " + p, "READY_TIMEOUT": SourceDefault,
	} {
		if got := c.Sources[name]; got != want {
			t.Errorf("source of %s = %q, want %q", name, got, want)
		}
	}
	if c.Values["POLICY_TIMEOUT"] != "20s" || c.Values["READY_TIMEOUT"] != "3m" {
		t.Errorf("values: %v", c.Values)
	}
}

func TestConfigFileErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"unknown keys", "clustermode: kind\nbogus: 1\n", []string{
			`unknown key "clustermode" (did you mean "clusterMode"?)`, `unknown key "bogus"`}},
		{"a version that YAML reads as a number", "istioVersion: 1.30\n", []string{
			`istioVersion: want a string, got a number (YAML reads it as 1.3): quote the value`}},
		{"a duration as a number", "readyTimeout: 5\n", []string{`readyTimeout: want a duration string such as "90s"`}},
		{"a switch as a word", "keepCluster: maybe\n", []string{`keepCluster: want true or false, got "maybe"`}},
		{"a count as a string", "procs: four\n", []string{`procs: want an integer, got the string "four"`}},
		{"an unknown implementation field", "implementation:\n  company: x\n", []string{`unknown key "implementation.company"`}},
		{"not a mapping", "- a\n- b\n", []string{"want a mapping of settings"}},
		{"not YAML", "a: [\n", []string{"is not YAML"}},
		{"a valid type with an invalid value", "clusterMode: minikube\n", []string{`CLUSTER_MODE="minikube"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.body), lookup(nil))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := Load("/nonexistent/ambient-e2e.yaml", lookup(nil)); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestEveryVariableHasAKeyAndKind(t *testing.T) {
	keys := map[string]bool{}
	for _, v := range Variables {
		if v.Key == "" || v.Kind == "" || keys[v.Key] {
			t.Errorf("%s: key %q kind %q (keys must be set and unique)", v.Name, v.Key, v.Kind)
		}
		keys[v.Key] = true
	}
}

func TestYourOwnBuilds(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{"ZTUNNEL_BINARY": "/b/ztunnel", "COMPONENT_IMAGES": "pilot=/a/pilot.tar"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Components) != 2 || c.Components[0].Archive != "/a/pilot.tar" || c.Components[1].Binary != "/b/ztunnel" {
		t.Fatalf("components: %+v", c.Components)
	}
	for env, want := range map[string]map[string]string{
		"only where the suite installs onto kind": {"ZTUNNEL_BINARY": "/b/ztunnel", "MESH_MODE": "preinstalled"},
		"not on an existing cluster":              {"COMPONENT_IMAGES": "ztunnel=/z.tar", "CLUSTER_MODE": "existing"},
		"a bad list":                              {"COMPONENT_IMAGES": "envoy=/z.tar"},
	} {
		_, err := FromLookup(lookup(want))
		if err == nil {
			t.Errorf("%s: %v was accepted", env, want)
			continue
		}
		if !strings.Contains(err.Error(), "COMPONENT_IMAGES") {
			t.Errorf("%s: the error does not name COMPONENT_IMAGES: %v", env, err)
		}
	}
}
