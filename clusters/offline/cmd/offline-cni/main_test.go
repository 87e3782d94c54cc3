package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteCNIConfigKeepsChainedPlugins(t *testing.T) {
	dir := t.TempDir()
	a := &agent{cniPath: filepath.Join(dir, "10-offline-cni.conflist")}
	if err := a.writeCNIConfig([]string{"10.244.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.cniPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"10.244.1.0/24"`) || !strings.Contains(string(b), `"ptp"`) {
		t.Fatalf("unexpected conflist: %s", b)
	}

	// istio-cni (ambient) appends itself to the primary conflist.
	var conf map[string]any
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	conf["plugins"] = append(conf["plugins"].([]any), map[string]any{"type": "istio-cni"})
	chained, _ := json.MarshalIndent(conf, "", "  ")
	if err := os.WriteFile(a.cniPath, chained, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.writeCNIConfig([]string{"10.244.1.0/24"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(a.cniPath)
	if !strings.Contains(string(got), "istio-cni") {
		t.Fatalf("reconcile dropped a chained plugin:\n%s", got)
	}

	// A changed pod CIDR is a different network: rewritten.
	if err := a.writeCNIConfig([]string{"10.244.7.0/24"}); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(a.cniPath)
	if !strings.Contains(string(got), "10.244.7.0/24") || strings.Contains(string(got), "istio-cni") {
		t.Fatalf("expected a fresh conflist for the new CIDR:\n%s", got)
	}
}
