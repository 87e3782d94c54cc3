// Package ztunnel reads the evidence of the ztunnel on a given node: its
// access log and its Prometheus metrics. It always reads the ztunnel of the
// node the workload runs on, never "any ztunnel pod".
package ztunnel

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/ambient-e2e/ambient-e2e/harness/evidence"
	"github.com/ambient-e2e/ambient-e2e/harness/kube"
)

// Ports and paths of ztunnel (ztunnel src/metrics/server.rs; docs/istio-facts.md §5.2).
const (
	MetricsPort = 15020
	MetricsPath = "/metrics"
	selector    = "app=ztunnel"
)

// Reader reads ztunnel evidence through the API server, from the ztunnel
// DaemonSet in Namespace (ISTIO_NAMESPACE).
type Reader struct {
	Kube      *kube.Kube
	Namespace string
}

// PodOn returns the name of the ztunnel pod on node.
func (r Reader) PodOn(ctx context.Context, node string) (string, error) {
	pods, err := r.Kube.Pods(ctx, r.Namespace, selector)
	if err != nil {
		return "", fmt.Errorf("listing ztunnel pods: %w", err)
	}
	p, err := evidence.ZtunnelFor(pods, node)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// AccessLog returns the access-log entries the ztunnel on node wrote since.
// Since is passed as the log request's sinceTime, which has one-second
// resolution: scope every query to the spec's own pods (by IP), never to
// a time window alone.
func (r Reader) AccessLog(ctx context.Context, node string, since time.Time) ([]evidence.AccessEntry, error) {
	pod, err := r.PodOn(ctx, node)
	if err != nil {
		return nil, err
	}
	b, err := r.Kube.Logs(ctx, r.Namespace, pod, "", since)
	if err != nil {
		return nil, err
	}
	return evidence.ParseAccessLog(bytes.NewReader(b))
}

// Log returns every structured line (all targets, e.g. the PolicyWatcher's
// proxy::connection_manager lines) the ztunnel on node wrote since.
func (r Reader) Log(ctx context.Context, node string, since time.Time) ([]evidence.AccessEntry, error) {
	pod, err := r.PodOn(ctx, node)
	if err != nil {
		return nil, err
	}
	b, err := r.Kube.Logs(ctx, r.Namespace, pod, "", since)
	if err != nil {
		return nil, err
	}
	return evidence.ParseLog(bytes.NewReader(b))
}

// Metrics scrapes the ztunnel on node.
func (r Reader) Metrics(ctx context.Context, node string) (evidence.Metrics, error) {
	pod, err := r.PodOn(ctx, node)
	if err != nil {
		return evidence.Metrics{}, err
	}
	b, err := r.Kube.ProxyGet(ctx, r.Namespace, pod, MetricsPort, MetricsPath)
	if err != nil {
		return evidence.Metrics{}, err
	}
	return evidence.ParseMetrics(bytes.NewReader(b))
}
