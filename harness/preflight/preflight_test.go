package preflight

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func writeSysctl(t *testing.T, root, key, val string) {
	t.Helper()
	p := filepath.Join(root, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(val+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSysctlsNamesTheLowLimitAndTheFix(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify limits are checked on Linux only")
	}
	root := t.TempDir()
	writeSysctl(t, root, "fs/inotify/max_user_watches", "8192")
	writeSysctl(t, root, "fs/inotify/max_user_instances", "1024")
	min := map[string]int{"fs/inotify/max_user_watches": 524288, "fs/inotify/max_user_instances": 512}
	err := Sysctls(root, min).Run(context.Background())
	if err == nil {
		t.Fatal("low max_user_watches passed")
	}
	for _, want := range []string{"fs.inotify.max_user_watches=8192 (need ≥ 524288)", "sudo sysctl -w fs.inotify.max_user_watches=524288", "too many open files"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "max_user_instances=1024") {
		t.Errorf("a sufficient limit was reported: %v", err)
	}
	writeSysctl(t, root, "fs/inotify/max_user_watches", "524288")
	if err := Sysctls(root, min).Run(context.Background()); err != nil {
		t.Fatalf("sufficient limits failed: %v", err)
	}
}

func TestFreePortsReportsABusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	err = FreePorts(map[string]int{"kind API server": busy, "unset": 0}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "kind API server port") {
		t.Fatalf("busy port not reported: %v", err)
	}
	l.Close()
	if err := FreePorts(map[string]int{"kind API server": busy}).Run(context.Background()); err != nil {
		t.Fatalf("free port reported busy: %v", err)
	}
}

// fakeDocker puts a `docker` script first on PATH that behaves as told.
func fakeDocker(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestDockerNotRunningSaysSoQuickly(t *testing.T) {
	fakeDocker(t, `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`)
	start := time.Now()
	err := Docker(5 * time.Second).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Docker engine does not answer") || !strings.Contains(err.Error(), "Is the docker daemon running?") {
		t.Fatalf("err=%v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func TestDockerHangingIsBounded(t *testing.T) {
	fakeDocker(t, `exec sleep 30`)
	start := time.Now()
	err := Docker(300 * time.Millisecond).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("err=%v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("hung for %s", time.Since(start))
	}
}

func TestImageMissingAndUnpullableNamesTheHint(t *testing.T) {
	fakeDocker(t, `case "$1" in image) exit 1;; pull) echo "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host" >&2; exit 1;; esac`)
	err := Image("kindest/node:v9.9.9", true, 5*time.Second, "Build one with `make node-image`.").Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "could not be pulled") || !strings.Contains(err.Error(), "no such host") || !strings.Contains(err.Error(), "make node-image") {
		t.Fatalf("err=%v", err)
	}
	err = Image("kindest/node:v9.9.9", false, time.Second, "hint").Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PULL_NODE_IMAGE=0") {
		t.Fatalf("err=%v", err)
	}
}

func TestImagePresentPasses(t *testing.T) {
	fakeDocker(t, `[ "$1" = image ] && { echo sha256:abc; exit 0; }; exit 1`)
	if err := Image("local/img:1", true, time.Second, "").Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRunJoinsFailuresAndReportsEachCheck(t *testing.T) {
	var lines []string
	err := Run(context.Background(), []Check{
		{Name: "ok", Run: func(context.Context) error { return nil }},
		{Name: "bad", Run: func(context.Context) error { return os.ErrNotExist }},
	}, func(s string) { lines = append(lines, s) })
	if err == nil || !strings.Contains(err.Error(), "bad: file does not exist") || len(lines) != 2 {
		t.Fatalf("err=%v lines=%q", err, lines)
	}
}
