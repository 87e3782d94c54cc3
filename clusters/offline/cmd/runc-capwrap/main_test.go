package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFixCapsDropsCapsOutsideBoundingSet(t *testing.T) {
	dir := t.TempDir()
	spec := map[string]any{"process": map[string]any{"capabilities": map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"},
		"effective": []any{"CAP_SYS_RESOURCE", "CAP_FUTURE_THING"},
	}}}
	b, _ := json.Marshal(spec)
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"CAP_CHOWN": true, "CAP_NET_ADMIN": true}
	if err := fixCaps(p, false, allowed); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	b, _ = os.ReadFile(p)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	caps := got["process"].(map[string]any)["capabilities"].(map[string]any)
	if n := len(caps["bounding"].([]any)); n != 2 {
		t.Errorf("bounding: want 2 caps, got %v", caps["bounding"])
	}
	// unknown names are left for runc to judge
	if e := caps["effective"].([]any); len(e) != 1 || e[0] != "CAP_FUTURE_THING" {
		t.Errorf("effective: got %v", e)
	}
}

func TestMergeDaemonJSONKeepsExistingSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(p, []byte(`{"log-level":"warn","runtimes":{"other":{"path":"/x"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mergeDaemonJSON(p, "ae", "/w"); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	b, _ := os.ReadFile(p)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	rt := d["runtimes"].(map[string]any)
	if d["log-level"] != "warn" || rt["other"] == nil || rt["ae"] == nil || d["default-runtime"] != "ae" {
		t.Fatalf("bad merge: %s", b)
	}
}
