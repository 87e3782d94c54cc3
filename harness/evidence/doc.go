// Package evidence turns what ztunnel writes (its access log and its
// Prometheus metrics) into verdicts the conformance specs can assert on:
// which connections were mTLS, between which SPIFFE identities, and whether
// authorization policy denied or closed them.
//
// The formats parsed here follow ztunnel's source:
//   - src/telemetry.rs: the plain-text and JSON (LOG_FORMAT=json) log layouts;
//   - src/proxy/metrics.rs: the access-log fields and the TCP metrics;
//   - src/metrics/server.rs: the /metrics endpoint, whose body is always
//     OpenMetrics text even when it is served as "text/plain";
//   - src/proxy.rs and src/proxy/connection_manager.rs: deny reasons and the
//     policy-update close message.
//
// Everything here is pure: callers fetch logs and metrics (for the right
// node's ztunnel, see ZtunnelFor) and hand the bytes in.
package evidence
