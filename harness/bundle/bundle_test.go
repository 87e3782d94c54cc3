package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriterKeepsTheBound(t *testing.T) {
	dir := t.TempDir()
	w := &writer{dir: dir, left: 100}
	w.file("a.yaml", []byte(strings.Repeat("h", 60)), false)
	w.file("z.log", []byte(strings.Repeat("x", 50)+"THE-END"), true) // 57 bytes, 40 left
	w.file("gone.txt", []byte("no room"), false)
	if w.written != 100 || w.left != 0 || w.files != 2 {
		t.Fatalf("written %d, left %d, files %d", w.written, w.left, w.files)
	}
	log, err := os.ReadFile(filepath.Join(dir, "z.log"))
	if err != nil || len(log) != 40 || !strings.HasSuffix(string(log), "THE-END") {
		t.Fatalf("a log keeps its tail: %q %v", log, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.txt")); !os.IsNotExist(err) {
		t.Fatal("a file over the bound was written")
	}
	notes := strings.Join(w.notes, "\n")
	for _, want := range []string{"z.log cut to 40 of 57 bytes", "gone.txt (7 bytes) left out: the bundle reached its size bound"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	// The README says what is missing even when the budget is spent.
	w.readme(Scope{Spec: "a spec", MeshNamespace: "istio-system"}, nil)
	readme, err := os.ReadFile(filepath.Join(dir, "README.txt"))
	if err != nil || !strings.Contains(string(readme), "gone.txt (7 bytes) left out") {
		t.Fatalf("README: %q %v", readme, err)
	}
}

func TestDir(t *testing.T) {
	a := Dir("/r", "Phase 3: verify L4 security — mTLS proven by identity client and server on different nodes the client node's ztunnel logs each connection outbound")
	b := Dir("/r", "Phase 3: verify L4 security — mTLS proven by identity client and server on different nodes the client node's ztunnel logs each connection inbound")
	if a == b {
		t.Fatalf("two specs, one directory: %s", a)
	}
	base := filepath.Base(a)
	if !strings.HasPrefix(base, "phase-3-verify-l4-security-mtls-proven-by-identity") || len(base) > 90 || strings.ContainsAny(base, " '—") {
		t.Fatalf("not a readable slug: %s", base)
	}
	spec := "x"
	if first, again := Dir("/r", spec), Dir("/r", strings.Clone(spec)); first != again {
		t.Fatalf("not stable: %s, then %s", first, again)
	}
}
