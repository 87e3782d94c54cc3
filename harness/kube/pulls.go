package kube

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// ImagePull is what the kubelet's events say about one image of a pod
// (kubernetes pkg/kubelet/images/image_manager.go@v1.34.4: reason "Pulling"
// `Pulling image "X"`, reason "Pulled" `Successfully pulled image "X" in
// 1.2s (1.5s including waiting). Image size: N bytes.` or `Container image
// "X" already present on machine`, reason "Failed" `Failed to pull image
// "X": …`; the kubelet retries a failed pull after a back-off).
type ImagePull struct {
	Image   string
	Started time.Time     // the last Pulling event; zero when the image was present
	Done    bool          // a Pulled event came
	Present bool          // already on the node: nothing was pulled
	Failed  string        // the last failure, while no pull succeeded after it
	Took    time.Duration // time spent pulling: the pull's own figure, plus failed attempts
	pulling bool          // an attempt is under way since Started
}

var (
	pullingRE = regexp.MustCompile(`^Pulling image "([^"]+)"`)
	pulledRE  = regexp.MustCompile(`^Successfully pulled image "([^"]+)" in ([^ ]+) \(([^ ]+) including waiting\)`)
	presentRE = regexp.MustCompile(`^Container image "([^"]+)" already present on machine`)
	failedRE  = regexp.MustCompile(`^Failed to pull image "([^"]+)": (.*)`)
)

// ParsePullEvents reads a pod's image pulls from its events, in image order.
// A failed attempt counts as pulling time up to its failure; the back-off
// before the next attempt does not (the pod is not pulling then, it is
// failing to).
func ParsePullEvents(events []corev1.Event) []ImagePull {
	events = slices.Clone(events)
	sort.SliceStable(events, func(i, j int) bool { return eventTime(events[i]).Before(eventTime(events[j])) })
	byImage := map[string]*ImagePull{}
	get := func(image string) *ImagePull {
		p, ok := byImage[image]
		if !ok {
			p = &ImagePull{Image: image}
			byImage[image] = p
		}
		return p
	}
	for _, e := range events {
		at := eventTime(e)
		switch e.Reason {
		case "Pulling":
			if m := pullingRE.FindStringSubmatch(e.Message); m != nil {
				p := get(m[1])
				p.Started, p.pulling, p.Done = at, true, false
			}
		case "Pulled":
			if m := pulledRE.FindStringSubmatch(e.Message); m != nil {
				p := get(m[1])
				p.Done, p.pulling, p.Failed = true, false, ""
				// The time including waiting is the one the pod waited.
				if d, err := time.ParseDuration(m[3]); err == nil {
					p.Took += d
				} else if d, err := time.ParseDuration(m[2]); err == nil {
					p.Took += d
				}
			} else if m := presentRE.FindStringSubmatch(e.Message); m != nil {
				p := get(m[1])
				p.Done, p.Present, p.pulling = true, true, false
			}
		case "Failed":
			if m := failedRE.FindStringSubmatch(e.Message); m != nil {
				p := get(m[1])
				if p.pulling && !p.Started.IsZero() {
					p.Took += at.Sub(p.Started)
				}
				p.pulling, p.Failed = false, m[2]
			}
		}
	}
	out := make([]ImagePull, 0, len(byImage))
	for _, p := range byImage {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	}
	return e.FirstTimestamp.Time
}

// PullTime is how long a pod has spent pulling images by now: the time of
// finished and failed attempts, and of an attempt still going.
func PullTime(pulls []ImagePull, now time.Time) time.Duration {
	var d time.Duration
	for _, p := range pulls {
		d += p.Took
		if p.pulling && !p.Started.IsZero() {
			d += now.Sub(p.Started)
		}
	}
	return d
}

// Pulling names the images being pulled right now, for a progress line.
func Pulling(pulls []ImagePull) []string {
	var out []string
	for _, p := range pulls {
		if p.pulling {
			out = append(out, p.Image)
		}
	}
	return out
}

// PodImagePulls reads the image pulls of a pod from its events.
func (k *Kube) PodImagePulls(ctx context.Context, namespace, pod string) ([]ImagePull, error) {
	var l corev1.EventList
	sel := "involvedObject.kind=Pod,involvedObject.name=" + pod
	if err := k.Res().WithNamespace(namespace).List(ctx, &l, resources.WithFieldSelector(sel)); err != nil {
		return nil, fmt.Errorf("events of pod %s/%s: %w", namespace, pod, err)
	}
	return ParsePullEvents(l.Items), nil
}

// FormatPulls renders pulls for a report: "docker.io/istio/proxyv2:1.31.4-distroless pulled in 12.3s".
func FormatPulls(pulls []ImagePull) []string {
	var out []string
	for _, p := range pulls {
		switch {
		case p.Present:
			out = append(out, p.Image+" already present")
		case p.Done:
			out = append(out, p.Image+" pulled in "+p.Took.Round(100*time.Millisecond).String())
		case p.Failed != "":
			out = append(out, p.Image+" cannot be pulled: "+p.Failed)
		case p.pulling:
			out = append(out, p.Image+" still pulling")
		}
	}
	return out
}
