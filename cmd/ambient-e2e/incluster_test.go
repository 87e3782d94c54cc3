package main

import (
	"testing"

	"github.com/ambient-e2e/ambient-e2e/harness/config"
)

// The Job gets the settings the caller took from its environment, as they
// were, but never the runner's own, KIND_*, or a secret-looking one.
func TestJobEnvPassesTheCallersSettingsButNoSecrets(t *testing.T) {
	cfg := &config.Config{
		Sources: map[string]string{
			"POLICY_TIMEOUT": config.SourceEnv, "MESH_MODE": config.SourceEnv, "ENROLL_TIMEOUT": config.SourceDefault,
			"KUBECONFIG": config.SourceEnv, "REPORT_DIR": config.SourceEnv, "KIND_NODE_IMAGE": config.SourceEnv,
			"REGISTRY_TOKEN": config.SourceEnv, "ISTIO_VERSION": "file vendor.yaml",
		},
		Values: map[string]string{"POLICY_TIMEOUT": "45s", "MESH_MODE": "preinstalled", "KUBECONFIG": "/home/me/.kube/config",
			"REPORT_DIR": "out", "KIND_NODE_IMAGE": "x", "REGISTRY_TOKEN": "s3cr3t", "ISTIO_VERSION": "1.31"},
	}
	env, refused := jobEnv(cfg)
	if len(env) != 2 || env["POLICY_TIMEOUT"] != "45s" || env["MESH_MODE"] != "preinstalled" {
		t.Errorf("env = %v, want the two settings from the environment", env)
	}
	if len(refused) != 1 || refused[0] != "REGISTRY_TOKEN" {
		t.Errorf("refused = %v, want REGISTRY_TOKEN", refused)
	}
}
