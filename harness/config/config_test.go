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
