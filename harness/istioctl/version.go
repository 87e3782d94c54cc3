package istioctl

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Version runs `<path> version --remote=false --short` and returns the
// client version it prints: "client version: 1.30.8" since Istio 1.23
// (pkg/version/cobra.go@1.30.3: `"client version: %s\n"`), the bare
// "1.30.8" before. If ctx has no deadline, DefaultVersionTimeout applies.
func Version(ctx context.Context, path string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultVersionTimeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "version", "--remote=false", "--short")
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// Do not wait forever for pipes held open by a stray child process.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return "", fmt.Errorf("%s version --remote=false --short: %w; stderr: %q", path, err, truncate(strings.TrimSpace(stderr.String()), 500))
	}
	out := strings.TrimSpace(stdout.String())
	if out == "" {
		return "", fmt.Errorf("%s version --remote=false --short printed nothing; stderr: %q", path, truncate(strings.TrimSpace(stderr.String()), 500))
	}
	return clientVersion(out), nil
}

// Verify checks that the istioctl at path reports exactly the version want
// (see Version) and returns an error naming both versions otherwise.
func Verify(ctx context.Context, path, want string) error {
	got, err := Version(ctx, path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("istioctl at %s reports version %q, want %q", path, truncate(got, 200), want)
	}
	return nil
}

// clientVersion reads the client's version from `istioctl version --short`
// output: the "client version: " line, or the whole output of an istioctl
// older than 1.23.
func clientVersion(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "client version: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return out
}
