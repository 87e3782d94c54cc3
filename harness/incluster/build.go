package incluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/setup"
)

// Repository is the name of locally built runner images; the tag hashes
// the binaries, so a changed suite is a new image.
const Repository = "ambient-e2e.local/runner"

// BuildRunner compiles, for linux/arch and statically, ambient-e2e, the
// Ginkgo CLI and the suite (go test -c with tags), and packs them as the
// runner image in outDir. The image's entrypoint is ambient-e2e; the Job
// runs "in-cluster runner", which runs the compiled suite with the Ginkgo
// CLI as ambient-e2e run does from a checkout.
func BuildRunner(ctx context.Context, moduleRoot, outDir, arch, tags string, progress func(string)) (image.Built, error) {
	binDir := filepath.Join(outDir, "runner-"+arch)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return image.Built{}, err
	}
	builds := []struct {
		what string
		out  string
		args []string
	}{
		{"ambient-e2e", "ambient-e2e", []string{"build", "-trimpath", "-ldflags=-s -w", "-o", "OUT", "./cmd/ambient-e2e"}},
		{"the Ginkgo CLI", "ginkgo", []string{"build", "-trimpath", "-ldflags=-s -w", "-o", "OUT", "github.com/onsi/ginkgo/v2/ginkgo"}},
		{"the suite (tags " + tags + ")", "ambient.test", []string{"test", "-c", "-trimpath", "-tags=" + tags, "-o", "OUT", "./suites/ambient"}},
	}
	for _, b := range builds {
		out := filepath.Join(binDir, b.out)
		args := make([]string, len(b.args))
		for i, a := range b.args {
			if a == "OUT" {
				a = out
			}
			args[i] = a
		}
		progress("building " + b.what + " for linux/" + arch)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if o, err := cmd.CombinedOutput(); err != nil {
			return image.Built{}, fmt.Errorf("building %s: %w\n%s", b.what, err, o)
		}
	}
	version, commit := setup.SuiteGit(moduleRoot)
	if version == "" {
		version = "unknown"
	}
	return image.Pack(image.Spec{
		Repository: Repository, Title: "ambient-e2e in-cluster runner", Arch: arch,
		Files: []image.File{
			{Path: Binary, Source: filepath.Join(binDir, "ambient-e2e")},
			{Path: GinkgoCLI, Source: filepath.Join(binDir, "ginkgo")},
			{Path: SuiteBinary, Source: filepath.Join(binDir, "ambient.test")},
		},
		Entrypoint: []string{Binary},
		Cmd:        []string{"in-cluster", "runner"},
		Env: []string{"AMBIENT_E2E_SUITE_BINARY=" + SuiteBinary, "AMBIENT_E2E_GINKGO=" + GinkgoCLI,
			setup.SuiteVersionEnv + "=" + version, setup.SuiteCommitEnv + "=" + commit},
	}, outDir)
}
