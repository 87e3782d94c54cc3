package component

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// machines maps a GOARCH (the nodes' architecture) to the ELF machine a
// binary for it has.
var machines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// Check looks at a source in seconds, before any cluster work: a binary
// exists, is executable, is a Linux ELF file for arch and finds every
// library it links against on this host (they go into its image); an
// archive holds one readable Linux image for arch; a Docker image is in the
// host's engine, for arch.
func (s Source) Check(ctx context.Context, arch string) error {
	switch {
	case s.Binary != "":
		_, err := Libraries(ctx, s.Binary, arch)
		return err
	case s.Docker != "":
		return checkDocker(ctx, s.Docker, arch)
	default:
		return checkArchive(s.Archive, arch)
	}
}

// checkBinary checks that p is an executable Linux ELF file for arch and
// says whether it is dynamically linked.
func checkBinary(p, arch string) (dynamic bool, err error) {
	st, err := os.Stat(p)
	if err != nil {
		return false, fmt.Errorf("ZTUNNEL_BINARY: %w", err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is not a regular file (mode %s): give the ztunnel binary itself", p, st.Mode())
	}
	if st.Mode().Perm()&0o111 == 0 {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is not executable (mode %s): is it the binary (cargo's target/release/ztunnel)?", p, st.Mode().Perm())
	}
	f, err := elf.Open(p)
	if err != nil {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is not an ELF executable (%w): give the Linux ztunnel binary, not an archive or a script", p, err)
	}
	defer func() { _ = f.Close() }()
	want, known := machines[arch]
	if !known {
		return false, fmt.Errorf("the nodes' architecture %q is not one ztunnel is built for (%s)", arch, "amd64, arm64, ppc64le, s390x")
	}
	if f.Machine != want {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is built for %s, but the nodes are %s (%s): build it for the nodes' architecture", p, f.Machine, arch, want)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is built for %s, not Linux", p, f.OSABI)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return false, fmt.Errorf("ZTUNNEL_BINARY %s is an ELF %s, not an executable", p, f.Type)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return true, nil
		}
	}
	return false, nil
}

// Libraries checks the binary p (see checkBinary) and lists the shared
// libraries it needs, with the dynamic loader, as this host's ldd resolves
// them: the files its image must hold. A static binary needs none.
func Libraries(ctx context.Context, p, arch string) ([]string, error) {
	dynamic, err := checkBinary(p, arch)
	if err != nil || !dynamic {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ldd", p).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s (the libraries it links against are packed from this host: build it on this host, or give an image with COMPONENT_IMAGES=ztunnel=...)", p, err, strings.TrimSpace(string(out)))
	}
	libs, missing := ParseLdd(out)
	if len(missing) > 0 {
		return nil, fmt.Errorf("ZTUNNEL_BINARY %s links against libraries this host does not have: %s (build it on this host, or give an image with COMPONENT_IMAGES=ztunnel=...)", p, strings.Join(missing, ", "))
	}
	if len(libs) == 0 {
		return nil, fmt.Errorf("ldd %s listed no libraries for a dynamically linked binary: %s", p, strings.TrimSpace(string(out)))
	}
	return libs, nil
}

// ParseLdd reads ldd's output: the absolute paths of the libraries and the
// loader, and the names of libraries it could not find. The vDSO
// (linux-vdso.so.1, no path) is the kernel's and is skipped.
//
//	linux-vdso.so.1 (0x00007ffd…)
//	libgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f…)
//	libfoo.so.2 => not found
//	/lib64/ld-linux-x86-64.so.2 (0x00007f…)
func ParseLdd(out []byte) (libs, missing []string) {
	seen := map[string]bool{}
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if l == "" {
			continue
		}
		name, target, arrow := strings.Cut(l, "=>")
		name, target = strings.TrimSpace(name), strings.TrimSpace(target)
		if !arrow {
			target = name
		}
		if target == "not found" {
			missing = append(missing, name)
			continue
		}
		if i := strings.Index(target, " ("); i >= 0 {
			target = target[:i]
		}
		if !strings.HasPrefix(target, "/") || seen[target] {
			continue
		}
		seen[target] = true
		libs = append(libs, target)
	}
	return libs, missing
}

// checkArchive reads an archive's manifest and image config (not its
// layers, which Prepare reads): one Linux image for arch.
func checkArchive(p, arch string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("image archive: %w (a source without %q is a file written by docker save or go-containerregistry)", err, DockerPrefix)
	}
	if st.IsDir() {
		return fmt.Errorf("image archive %s is a directory: give a docker-archive tarball (docker save -o FILE IMAGE)", p)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil {
		return fmt.Errorf("image archive %s does not load: %w (want a docker-archive tarball, as docker save writes)", p, err)
	}
	if len(m) != 1 {
		return fmt.Errorf("image archive %s holds %d images; give an archive of exactly one", p, len(m))
	}
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		return fmt.Errorf("image archive %s does not load: %w", p, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image archive %s: its image config does not read: %w", p, err)
	}
	return checkPlatform("image archive "+p, cf.OS, cf.Architecture, arch)
}

func checkPlatform(what, os, got, arch string) error {
	if os != "" && os != "linux" {
		return fmt.Errorf("%s is a %s image, not linux", what, os)
	}
	if got != "" && got != arch {
		return fmt.Errorf("%s is built for %s, but the nodes are %s", what, got, arch)
	}
	return nil
}

func checkDocker(ctx context.Context, ref, arch string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Os}} {{.Architecture}}", ref).CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("docker image inspect %s did not answer within 10s", ref)
	}
	if err != nil {
		return fmt.Errorf("image %s is not in the host's Docker engine (%s): load or build it there first, or give an archive", ref, strings.TrimSpace(string(out)))
	}
	osName, got, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return checkPlatform("Docker image "+ref, osName, got, arch)
}
