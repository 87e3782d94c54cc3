package cluster

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ambient-e2e/ambient-e2e/clusters"
)

func TestKindConfigSetsAPIServerPort(t *testing.T) {
	cfg, err := KindConfig(clusters.KindConfig, 6443)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Networking.APIServerPort != 6443 || len(cfg.Nodes) != 3 {
		t.Fatalf("port=%d nodes=%d", cfg.Networking.APIServerPort, len(cfg.Nodes))
	}
	if _, err := KindConfig([]byte("kind: Cluster\nnodez: []\n"), 0); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "` + server + `"}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExistingMissingKubeconfig(t *testing.T) {
	_, err := Existing(filepath.Join(t.TempDir(), "nope"), "")
	if err == nil || !strings.Contains(err.Error(), "KUBECONFIG") {
		t.Fatalf("err=%v", err)
	}
}

func TestInvalidKubeconfigIsReported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kc")
	if err := os.WriteFile(p, []byte("this: is: not: a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Existing(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reachable(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "invalid kubeconfig") {
		t.Fatalf("err=%v", err)
	}
}

func TestUnknownContextIsReported(t *testing.T) {
	c, _ := Existing(writeKubeconfig(t, "https://127.0.0.1:1"), "missing-ctx")
	if _, err := c.Reachable(context.Background(), time.Second); err == nil || !strings.Contains(err.Error(), "missing-ctx") {
		t.Fatalf("err=%v", err)
	}
}

func TestUnreachableAPIServerFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, _ := Existing(writeKubeconfig(t, "https://"+addr), "")
	start := time.Now()
	_, err = c.Reachable(context.Background(), 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("err=%v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestStalledAPIServerIsBounded(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	c, _ := Existing(writeKubeconfig(t, srv.URL), "")
	start := time.Now()
	_, err := c.Reachable(context.Background(), 500*time.Millisecond)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("err=%v after %s", err, time.Since(start))
	}
}

func TestReachableReturnsServerVersion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.4"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	c, _ := Existing(writeKubeconfig(t, srv.URL), "ctx")
	v, err := c.Reachable(context.Background(), 2*time.Second)
	if err != nil || v != "v1.34.4" {
		t.Fatalf("v=%q err=%v", v, err)
	}
}

func TestLoadImageRefusedOutsideKind(t *testing.T) {
	c := Attach("", "/dev/null", "")
	if err := c.LoadImageArchive("x.tar", "img", func(string) {}); err == nil || !strings.Contains(err.Error(), "PROBE_IMAGE") {
		t.Fatalf("err=%v", err)
	}
}
