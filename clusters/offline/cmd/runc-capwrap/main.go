// Command runc-capwrap is a runc wrapper for hosts whose capability bounding
// set is smaller than the kernel's full set (seen on VMs whose init drops
// CAP_SYS_RESOURCE). dockerd asks runc for ALL known capabilities when a
// container is --privileged, and runc then fails with "unable to apply caps".
//
// Before exec'ing the real runc, the wrapper removes from the OCI spec every
// capability that is not in its own bounding set (which the container could
// never have anyway). Everything else is passed through untouched.
//
// Registered as dockerd's default runtime by clusters/offline/ensure-docker,
// only when the condition is detected.
//
//	runc-capwrap [runc args...]                  (as a runtime)
//	runc-capwrap --merge-daemon-json FILE NAME   (helper for ensure-docker)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames indexes capability numbers to OCI names (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

func realRunc() string {
	if p := os.Getenv("AE_REAL_RUNC"); p != "" {
		return p
	}
	// A file next to the wrapper may name the real runc (written by ensure-docker).
	if self, err := os.Executable(); err == nil {
		if b, err := os.ReadFile(self + ".real"); err == nil {
			if p := strings.TrimSpace(string(b)); p != "" {
				return p
			}
		}
	}
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return "runc"
}

// boundingSet returns the capability names allowed by this process's bounding set.
func boundingSet() (map[string]bool, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return nil, err
			}
			allowed := map[string]bool{}
			for i, n := range capNames {
				if mask&(1<<uint(i)) != 0 {
					allowed[n] = true
				}
			}
			return allowed, nil
		}
	}
	return nil, fmt.Errorf("no CapBnd in /proc/self/status")
}

func filter(list []any, allowed map[string]bool) ([]any, bool) {
	out := make([]any, 0, len(list))
	changed := false
	for _, c := range list {
		s, _ := c.(string)
		known := false
		for _, n := range capNames {
			if n == s {
				known = true
				break
			}
		}
		// Unknown names (newer kernels) are left for runc to judge.
		if known && !allowed[s] {
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// fixCaps edits a JSON document in place; process is the path to the
// "process" object ("" for a process.json given to runc exec).
func fixCaps(path string, inProcess bool, allowed map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	proc := doc
	if !inProcess {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok {
		return nil
	}
	changed := false
	for k, v := range caps {
		if l, ok := v.([]any); ok {
			nl, ch := filter(l, allowed)
			if ch {
				caps[k] = nl
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	nb, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".capwrap.tmp"
	if err := os.WriteFile(tmp, nb, st.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func mergeDaemonJSON(file, name, wrapper string) error {
	doc := map[string]any{}
	if b, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s is not valid JSON: %w", file, err)
		}
	}
	rt, _ := doc["runtimes"].(map[string]any)
	if rt == nil {
		rt = map[string]any{}
	}
	rt[name] = map[string]any{"path": wrapper}
	doc["runtimes"] = rt
	doc["default-runtime"] = name
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

func main() {
	args := os.Args[1:]
	if len(args) == 4 && args[0] == "--merge-daemon-json" {
		if err := mergeDaemonJSON(args[1], args[2], args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "runc-capwrap:", err)
			os.Exit(1)
		}
		return
	}
	if len(args) == 1 && args[0] == "--missing-caps" {
		allowed, err := boundingSet()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, n := range capNames {
			if !allowed[n] {
				fmt.Println(n)
			}
		}
		return
	}

	// Find the subcommand and its bundle / process file.
	var sub, bundle, process string
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		}
		switch {
		case sub == "" && !strings.HasPrefix(a, "-"):
			sub = a
		case a == "--bundle" || a == "-b":
			bundle = val()
			i++
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		case a == "--process" || a == "-p":
			process = val()
			i++
		case strings.HasPrefix(a, "--process="):
			process = strings.TrimPrefix(a, "--process=")
		case sub == "" && (a == "--root" || a == "--log" || a == "--log-format" || a == "--criu"):
			i++ // global flags with a value
		}
	}
	if sub == "create" || sub == "run" || (sub == "exec" && process != "") {
		if allowed, err := boundingSet(); err == nil {
			var ferr error
			if sub == "exec" {
				ferr = fixCaps(process, true, allowed)
			} else {
				if bundle == "" {
					bundle, _ = os.Getwd()
				}
				ferr = fixCaps(filepath.Join(bundle, "config.json"), false, allowed)
			}
			if ferr != nil {
				fmt.Fprintln(os.Stderr, "runc-capwrap: warning:", ferr)
			}
		}
	}
	real := realRunc()
	argv := append([]string{real}, args...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "runc-capwrap: exec", real, ":", err)
		os.Exit(127)
	}
}
