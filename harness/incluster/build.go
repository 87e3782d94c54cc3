package incluster

import (
	"context"
	"os"
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
	for _, b := range []struct {
		out     string
		command []string
		pkg     string
	}{
		{"ambient-e2e", []string{"build", "-ldflags=-s -w"}, "./cmd/ambient-e2e"},
		{"ginkgo", []string{"build", "-ldflags=-s -w"}, "github.com/onsi/ginkgo/v2/ginkgo"},
		{"ambient.test", []string{"test", "-c", "-tags=" + tags}, "./suites/ambient"},
	} {
		progress("building " + b.pkg + " for linux/" + arch)
		if err := image.GoBuild(ctx, moduleRoot, arch, filepath.Join(binDir, b.out), b.command, b.pkg); err != nil {
			return image.Built{}, err
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
