// Package preflight checks the host before anything slow starts, so bad input
// or a missing prerequisite is reported in seconds with what to do about it.
package preflight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Check is one named host check.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Run runs every check, each under its own bound, and joins the failures.
// Progress goes to report (one line per check).
func Run(ctx context.Context, checks []Check, report func(string)) error {
	var errs []error
	for _, c := range checks {
		start := time.Now()
		err := c.Run(ctx)
		if err != nil {
			report(fmt.Sprintf("  ✗ %s: %v", c.Name, err))
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
			continue
		}
		report(fmt.Sprintf("  ✓ %s (%s)", c.Name, time.Since(start).Round(time.Millisecond)))
	}
	return errors.Join(errs...)
}

// Docker checks that the Docker engine answers, within timeout.
func Docker(timeout time.Duration) Check {
	return Check{Name: "Docker engine reachable", Run: func(ctx context.Context) error {
		if _, err := exec.LookPath("docker"); err != nil {
			return errors.New("the docker CLI is not on PATH: install Docker (kind runs the cluster nodes as containers)")
		}
		out, err := command(ctx, timeout, "docker", "info", "--format", "{{.ServerVersion}}")
		if err != nil {
			return fmt.Errorf("the Docker engine does not answer (%s): start it (e.g. `sudo systemctl start docker`, or `make docker` on a machine without systemd) and re-run", firstLine(out, err))
		}
		return nil
	}}
}

// Sysctls checks kernel limits read from root (normally /proc/sys): each key
// must be at least its minimum. Istio's CNI agent crashloops on kind with
// "too many open files" when the inotify limits are the distribution defaults.
func Sysctls(root string, minimum map[string]int) Check {
	return Check{Name: "inotify limits for istio-cni", Run: func(context.Context) error {
		if runtime.GOOS != "linux" {
			return nil // Docker Desktop's VM has its own limits; kind's docs cover them.
		}
		var low []string
		var fix []string
		for key, want := range minimum {
			b, err := os.ReadFile(filepath.Join(root, key))
			if err != nil {
				return fmt.Errorf("cannot read %s: %w", key, err)
			}
			have, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("%s: unexpected value %q", key, b)
			}
			if have < want {
				name := strings.ReplaceAll(key, "/", ".")
				low = append(low, fmt.Sprintf("%s=%d (need ≥ %d)", name, have, want))
				fix = append(fix, fmt.Sprintf("%s=%d", name, want))
			}
		}
		if len(low) > 0 {
			return fmt.Errorf("%s; istio-cni would crashloop with \"too many open files\". Fix: sudo sysctl -w %s",
				strings.Join(low, ", "), strings.Join(fix, " "))
		}
		return nil
	}}
}

// FreePorts checks that each host TCP port (0 = any, skipped) can be bound.
func FreePorts(ports map[string]int) Check {
	return Check{Name: "host ports free", Run: func(context.Context) error {
		var busy []string
		for what, p := range ports {
			if p == 0 {
				continue
			}
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				busy = append(busy, fmt.Sprintf("%s port %d is in use (%v)", what, p, err))
				continue
			}
			_ = l.Close()
		}
		if len(busy) > 0 {
			return errors.New(strings.Join(busy, "; ") + ": free it or pick another port")
		}
		return nil
	}}
}

// Image checks that a container image is present locally, and if not and pull
// is true, tries to pull it within pullTimeout.
func Image(image string, pull bool, pullTimeout time.Duration, hint string) Check {
	return Check{Name: "kind node image " + image, Run: func(ctx context.Context) error {
		if _, err := command(ctx, 30*time.Second, "docker", "image", "inspect", "--format", "{{.Id}}", image); err == nil {
			return nil
		}
		if !pull {
			return fmt.Errorf("image is not present locally and PULL_NODE_IMAGE=0. %s", hint)
		}
		out, err := command(ctx, pullTimeout, "docker", "pull", image)
		if err != nil {
			return fmt.Errorf("image is not present locally and could not be pulled (%s). %s", firstLine(out, err), hint)
		}
		return nil
	}}
}

func command(ctx context.Context, timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("no answer within %s", timeout)
	}
	return out.Bytes(), err
}

func firstLine(out []byte, err error) string {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	if s == "" {
		return err.Error()
	}
	return s
}
