// Package traffic sends probe requests from inside pods and judges them with
// composable checks, after Istio's own echo checkers (check.OK(), CheckDeny,
// IsL7): a check returns nil or an error that says what was expected and
// what was seen ("expected reset, got 200 from echo-server-…").
package traffic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ambient-e2e/ambient-e2e/fixtures/probe/wire"
)

// Check judges one probe result.
type Check func(r wire.Result) error

// Describe renders a result in a few words for failure messages.
func Describe(r wire.Result) string {
	switch {
	case r.ErrorClass != wire.ClassNone:
		return fmt.Sprintf("%s (%s)", r.ErrorClass, r.Error)
	case r.Body != nil:
		return fmt.Sprintf("%d from %s", r.Status, r.Body.Pod)
	case r.Protocol == wire.ProtocolTCP:
		return fmt.Sprintf("tcp echo of %d bytes", len(r.BodyText))
	case r.BodyText != "":
		return fmt.Sprintf("%d %q", r.Status, truncate(r.BodyText, 80))
	default:
		return fmt.Sprintf("%d", r.Status)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NoError passes when the request completed without a transport error.
func NoError() Check {
	return func(r wire.Result) error {
		if r.ErrorClass != wire.ClassNone || r.Error != "" {
			return fmt.Errorf("expected a response, got %s", Describe(r))
		}
		return nil
	}
}

// Status passes on an HTTP response with this code.
func Status(code int) Check {
	return func(r wire.Result) error {
		if r.ErrorClass != wire.ClassNone || r.Status != code {
			return fmt.Errorf("expected %d, got %s", code, Describe(r))
		}
		return nil
	}
}

// OK is a 200 without error: Istio's check.OK().
func OK() Check { return Status(200) }

// Class passes when the request failed with this error class.
func Class(c wire.ErrorClass) Check {
	return func(r wire.Result) error {
		if r.ErrorClass != c {
			return fmt.Errorf("expected %s, got %s", c, Describe(r))
		}
		return nil
	}
}

// Reset is what a client sees when ztunnel denies a connection (docs/istio-facts.md §4.3).
func Reset() Check { return Class(wire.ClassReset) }

// ZtunnelRefused is what a client sees when the destination ztunnel's
// authorization policy refuses its connection: a reset or a clean close
// (EOF), whether the client is in the mesh or not (Istio's own CheckDeny
// accepts both, tests/integration/ambient/baseline_test.go). A plaintext
// client's connection is dropped unread by the destination ztunnel's inbound
// passthrough (ztunnel src/proxy/inbound_passthrough.rs); an HBONE client's
// by its own ztunnel once the destination answers the CONNECT with 401
// (src/proxy/outbound.rs). Either way the kernel sends RST only if the
// request's bytes had arrived by then, so which one the client sees is
// timing. Seen with a real ztunnel (release-1.31) on the self-test's
// ztunnel mesh: an HBONE client denied by a DENY got "EOF" on one request
// and a reset on the next. The client's view alone does not prove the
// policy did it; pair it with the destination ztunnel's access line
// (evidence.CheckDenied).
func ZtunnelRefused() Check { return Or(Reset(), EOF()) }

// Timeout is what a client sees when a NetworkPolicy drops packets.
func Timeout() Check { return Class(wire.ClassTimeout) }

// EOF is what a TCP client sees when Envoy closes the stream.
func EOF() Check { return Class(wire.ClassEOF) }

// Forbidden is an L7 deny at a waypoint: 403 with body "RBAC: access denied".
func Forbidden() Check {
	return And(Status(403), BodyText("RBAC: access denied"))
}

// BodyText passes when the raw body equals text.
func BodyText(text string) Check {
	return func(r wire.Result) error {
		if strings.TrimSpace(r.BodyText) != text {
			return fmt.Errorf("expected body %q, got %s", text, Describe(r))
		}
		return nil
	}
}

// ServedBy passes when the echo reply names a pod whose name starts with prefix.
func ServedBy(prefix string) Check {
	return func(r wire.Result) error {
		if r.Body == nil || !strings.HasPrefix(r.Body.Pod, prefix) {
			return fmt.Errorf("expected a reply from %s*, got %s", prefix, Describe(r))
		}
		return nil
	}
}

// NotServedBy is ServedBy's negation: it passes when the request got no
// echo reply from a pod whose name starts with prefix (a transport error, or
// a response that something in between gave). It is the client's half of
// "no request reached the server"; the server's own count
// (scenario.Served) is the other. The failure says whether the reply came
// through a waypoint (X-Request-Id at the server) or not.
func NotServedBy(prefix string) Check {
	return func(r wire.Result) error {
		if r.Body == nil || !strings.HasPrefix(r.Body.Pod, prefix) {
			return nil
		}
		via := "no " + RequestIDHeader + " at the server: no waypoint in path"
		if len(headerValues(r.Body.Headers, RequestIDHeader)) > 0 {
			via = RequestIDHeader + " at the server: through a waypoint"
		}
		return fmt.Errorf("expected no reply from %s*, got %s (%s)", prefix, Describe(r), via)
	}
}

// RequestHeader passes when the server received header name. With a
// waypoint in the path the server sees X-Request-Id (Istio's IsL7()).
func RequestHeader(name string) Check {
	return func(r wire.Result) error {
		if r.Body == nil {
			return fmt.Errorf("expected the server to see %s, got %s", name, Describe(r))
		}
		if len(headerValues(r.Body.Headers, name)) == 0 {
			return fmt.Errorf("expected the server to see header %s, it saw %s", name, headerNames(r.Body.Headers))
		}
		return nil
	}
}

// NoRequestHeader passes when the server did not receive header name
// (Istio's IsL4(): no X-Request-Id).
func NoRequestHeader(name string) Check {
	return func(r wire.Result) error {
		if r.Body == nil {
			return fmt.Errorf("expected an echo reply without %s, got %s", name, Describe(r))
		}
		if v := headerValues(r.Body.Headers, name); len(v) > 0 {
			return fmt.Errorf("expected no %s at the server, it saw %q", name, v)
		}
		return nil
	}
}

func headerValues(h map[string][]string, name string) []string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func headerNames(h map[string][]string) string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	if len(names) == 0 {
		return "no headers"
	}
	return strings.Join(names, ", ")
}

// And passes when every check passes; it reports the first failure.
func And(checks ...Check) Check {
	return func(r wire.Result) error {
		for _, c := range checks {
			if err := c(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// Or passes when any check passes; it reports all failures otherwise.
func Or(checks ...Check) Check {
	return func(r wire.Result) error {
		var errs []error
		for _, c := range checks {
			err := c(r)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("none of: %w", errors.Join(errs...))
	}
}

// Deny is Istio's CheckDeny for HTTP clients: a ztunnel reset, an Envoy
// EOF, a waypoint 403, or a 503 from Envoy in front of an L4-denied server.
func Deny() Check { return Or(Reset(), EOF(), Status(403), Status(503)) }

// Each applies c to every result and reports the first failure with its index.
func Each(c Check, results []wire.Result) error {
	if len(results) == 0 {
		return errors.New("no results to check")
	}
	for i, r := range results {
		if err := c(r); err != nil {
			return fmt.Errorf("request %d of %d: %w", i+1, len(results), err)
		}
	}
	return nil
}

// RequestIDHeader is the header Envoy adds and ztunnel never does: the
// server seeing it proves a waypoint was in the path (docs/istio-facts.md §6.3).
const RequestIDHeader = "X-Request-Id"

// ViaWaypoint is Istio's IsL7(): the echo server received X-Request-Id.
func ViaWaypoint() Check {
	return func(r wire.Result) error {
		if err := RequestHeader(RequestIDHeader)(r); err != nil {
			return fmt.Errorf("no waypoint in path (no %s at the server): %w", RequestIDHeader, err)
		}
		return nil
	}
}

// NotViaWaypoint is Istio's IsL4(): an echo reply without X-Request-Id.
func NotViaWaypoint() Check {
	return func(r wire.Result) error {
		if err := NoRequestHeader(RequestIDHeader)(r); err != nil {
			return fmt.Errorf("expected L4 only (no waypoint): %w", err)
		}
		return nil
	}
}

// Version passes when the echo reply comes from a pod of that version label.
func Version(v string) Check {
	return func(r wire.Result) error {
		if r.Body == nil || r.Body.Version != v {
			return fmt.Errorf("expected a reply from version %s, got %s", v, describeVersion(r))
		}
		return nil
	}
}

func describeVersion(r wire.Result) string {
	if r.Body == nil {
		return Describe(r)
	}
	return fmt.Sprintf("%s (version %q)", Describe(r), r.Body.Version)
}

// RequestHeaderValue passes when the server received header name with value.
func RequestHeaderValue(name, value string) Check {
	return func(r wire.Result) error {
		if err := RequestHeader(name)(r); err != nil {
			return err
		}
		for _, v := range headerValues(r.Body.Headers, name) {
			if v == value {
				return nil
			}
		}
		return fmt.Errorf("expected the server to see %s: %s, it saw %q", name, value, headerValues(r.Body.Headers, name))
	}
}

// Versions counts the echo replies per version label; results without a
// reply count under "" .
func Versions(results []wire.Result) map[string]int {
	n := map[string]int{}
	for _, r := range results {
		v := ""
		if r.Body != nil {
			v = r.Body.Version
		}
		n[v]++
	}
	return n
}
