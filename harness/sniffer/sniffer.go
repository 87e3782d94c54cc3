// Package sniffer runs `probe sniff` as a host-network pod on one node and
// returns its capture summary. The pod is removed whatever happens.
package sniffer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
	"github.com/ambient-e2e/ambient-e2e/harness/image"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
	"github.com/ambient-e2e/ambient-e2e/harness/probelog"
	"github.com/ambient-e2e/ambient-e2e/harness/wait"
)

// Options say where and what to capture.
type Options struct {
	Namespace string
	Node      string
	Image     string
	IPs       []string // pod IPs whose packets are kept
	Canaries  []string // strings that must (not) appear in payloads
	Duration  time.Duration
	// StopName lets Sniffer.Stop end the capture before Duration; "" for
	// none. The capture runs in the node's network namespace, so the name
	// must be unique on the node (Canary makes one).
	StopName string
}

// Sniffer is a running capture.
type Sniffer struct {
	k    *kube.Kube
	pod  *corev1.Pod
	opts Options
}

// Canary returns a fresh random marker for one run.
func Canary(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// PodSpec is the sniffer pod: host network to see the node's interfaces,
// NET_RAW and NET_ADMIN for AF_PACKET and the BPF filter, never restarted,
// and opted out of ambient (istio.io/dataplane-mode=none): it may run in an
// enrolled namespace, and istio-cni 1.27-1.31 considered hostNetwork pods
// eligible for enrollment (istio/istio#61168).
func PodSpec(o Options, labels map[string]string) *corev1.Pod {
	podLabels := map[string]string{dataplaneModeLabel: "none"}
	for k, v := range labels {
		podLabels[k] = v
	}
	args := []string{"sniff", "--interface", "any", "--duration", o.Duration.String()}
	for _, ip := range o.IPs {
		args = append(args, "--ip", ip)
	}
	for _, c := range o.Canaries {
		args = append(args, "--canary", c)
	}
	if o.StopName != "" {
		args = append(args, "--stop-name", o.StopName)
	}
	root := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "sniffer-", Namespace: o.Namespace, Labels: podLabels},
		Spec: corev1.PodSpec{
			NodeName:                      o.Node,
			HostNetwork:                   true,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr(int64(2)),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "sniff", Image: o.Image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{image.BinaryPath}, Args: args,
				SecurityContext: &corev1.SecurityContext{
					RunAsUser:    &root,
					Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_RAW", "NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// dataplaneModeLabel is ambient.DataplaneModeLabel (not imported: sniffer
// is below ambient's users and needs only the name).
const dataplaneModeLabel = "istio.io/dataplane-mode"

// deleteTimeout bounds the wait for a deleted sniffer pod to be gone.
const deleteTimeout = 30 * time.Second

// Start creates the sniffer pod and waits until its capture is live.
func Start(ctx context.Context, k *kube.Kube, o Options, timeout time.Duration) (*Sniffer, error) {
	pod := PodSpec(o, k.Labels())
	if err := k.Res().Create(ctx, pod); err != nil {
		return nil, fmt.Errorf("creating the sniffer pod on %s: %w", o.Node, err)
	}
	s := &Sniffer{k: k, pod: pod, opts: o}
	err := wait.For(ctx, "the sniffer on "+o.Node+" to capture", timeout, func(ctx context.Context) (bool, string, error) {
		var p corev1.Pod
		if err := k.Res().Get(ctx, pod.Name, pod.Namespace, &p); err != nil {
			return false, "", err
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			logs, _ := k.Logs(ctx, p.Namespace, p.Name, "sniff", time.Time{})
			return false, "", wait.Permanent(fmt.Errorf("sniffer ended before it was ready (%s): %s", p.Status.Phase, strings.TrimSpace(string(logs))))
		}
		if p.Status.Phase != corev1.PodRunning {
			return false, string(p.Status.Phase), nil
		}
		logs, err := k.Logs(ctx, p.Namespace, p.Name, "sniff", time.Time{})
		if err != nil {
			return false, "", err
		}
		return bytes.Contains(logs, []byte(`{"ready":true}`)), "running, capture not live yet", nil
	})
	if err != nil {
		_ = s.Delete(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Wait waits for the capture to end (its duration) and returns the summary.
func (s *Sniffer) Wait(ctx context.Context) (wire.SniffSummary, error) {
	var sum wire.SniffSummary
	err := wait.For(ctx, "the sniffer on "+s.opts.Node+" to finish", s.opts.Duration+time.Minute, func(ctx context.Context) (bool, string, error) {
		var p corev1.Pod
		if err := s.k.Res().Get(ctx, s.pod.Name, s.pod.Namespace, &p); err != nil {
			return false, "", err
		}
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return false, "capturing", nil
		}
		logs, err := s.k.Logs(ctx, p.Namespace, p.Name, "sniff", time.Time{})
		if err != nil {
			return false, "", err
		}
		probelog.Add("sniff", p.Namespace+"/"+p.Name, p.Spec.Containers[0].Args, logs, nil)
		sum, err = ParseSummary(logs)
		if err != nil {
			return false, "", wait.Permanent(err)
		}
		return true, "", nil
	})
	return sum, err
}

// Stop ends the capture now (Options.StopName); Wait then returns its
// summary.
func (s *Sniffer) Stop(ctx context.Context) error {
	if s.opts.StopName == "" {
		return fmt.Errorf("the sniffer on %s was started without a stop name", s.opts.Node)
	}
	cmd := []string{image.BinaryPath, "stop", "--name", s.opts.StopName}
	out, err := s.k.Exec(ctx, s.pod.Namespace, s.pod.Name, "sniff", cmd)
	if err != nil {
		return fmt.Errorf("stopping the sniffer on %s: %w (%s)", s.opts.Node, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ParseSummary finds the capture summary in the sniffer's log (stdout and
// stderr interleaved: the summary is the JSON line with "packets").
func ParseSummary(logs []byte) (wire.SniffSummary, error) {
	var sum wire.SniffSummary
	var found bool
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 0, 64*1024), 8<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if !bytes.HasPrefix(line, []byte("{")) || !bytes.Contains(line, []byte(`"packets"`)) {
			continue
		}
		if err := json.Unmarshal(line, &sum); err == nil {
			found = true
		}
	}
	if !found {
		return sum, fmt.Errorf("the sniffer printed no summary: %q", truncate(string(logs), 400))
	}
	if sum.Error != "" {
		return sum, errors.New("the sniffer failed: " + sum.Error)
	}
	return sum, nil
}

// Delete removes the sniffer pod and waits until it is gone, so the next
// look at the namespace's pods does not find it.
func (s *Sniffer) Delete(ctx context.Context) error {
	if err := s.k.Res().Delete(ctx, s.pod); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting sniffer pod %s/%s: %w", s.pod.Namespace, s.pod.Name, err)
	}
	return wait.For(ctx, "sniffer pod "+s.pod.Namespace+"/"+s.pod.Name+" to be gone", deleteTimeout, func(ctx context.Context) (bool, string, error) {
		err := s.k.Res().Get(ctx, s.pod.Name, s.pod.Namespace, &corev1.Pod{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "terminating", err
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
