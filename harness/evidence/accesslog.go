package evidence

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// AccessTarget is the tracing target of ztunnel's access log lines
// (ztunnel src/proxy/metrics.rs: `event!(target: "access", ...)`).
const AccessTarget = "access"

// Access-log messages written by ztunnel (src/proxy/metrics.rs).
const (
	// MsgConnectionComplete ends every proxied connection: INFO on success,
	// ERROR (with an "error" field) on failure.
	MsgConnectionComplete = "connection complete"
	// MsgConnectionOpened is logged at DEBUG when a connection starts.
	MsgConnectionOpened = "connection opened"
	// MsgConnectionFailed is the WARN line of an early failure, logged before
	// ztunnel knows enough for a full access line.
	MsgConnectionFailed = "connection failed"
)

// Access-log field names (ztunnel src/proxy/metrics.rs, in the order logged).
const (
	FieldSrcAddr      = "src.addr"
	FieldSrcWorkload  = "src.workload"
	FieldSrcNamespace = "src.namespace"
	FieldSrcIdentity  = "src.identity"
	FieldSrcCluster   = "src.cluster"
	FieldDstAddr      = "dst.addr"
	FieldDstHBONEAddr = "dst.hbone_addr"
	FieldDstService   = "dst.service"
	FieldDstWorkload  = "dst.workload"
	FieldDstNamespace = "dst.namespace"
	FieldDstIdentity  = "dst.identity"
	FieldDstCluster   = "dst.cluster"
	FieldDirection    = "direction"
	FieldBytesSent    = "bytes_sent"
	FieldBytesRecv    = "bytes_recv"
	FieldDuration     = "duration"
	FieldError        = "error"
)

// Values of the "direction" field.
const (
	DirectionOutbound = "outbound"
	DirectionInbound  = "inbound"
)

// AccessEntry is one structured ztunnel log line, from either the plain-text
// or the JSON log format. Despite its name ParseLog also returns non-access
// lines (other targets) as AccessEntry values.
type AccessEntry struct {
	// Time is the timestamp as written, e.g. "2025-01-23T05:07:25.806642Z".
	Time string
	// Level is the lower-case level: trace, debug, info, warn or error.
	Level string
	// Target is the tracing target without the "ztunnel::" prefix and without
	// span context, e.g. "access" or "proxy::connection_manager". Span fields
	// are stored in Fields as "<span>.<field>", e.g. "proxy.wl".
	Target string
	// Message is the log message, e.g. "connection complete".
	Message string
	// Fields holds the key=value pairs, unquoted and unescaped. Numbers are
	// kept in their decimal text form.
	Fields map[string]string
	// Raw is the original line, for error messages.
	Raw string
}

// Field returns the value of field k, or "" when absent.
func (e AccessEntry) Field(k string) string { return e.Fields[k] }

// Direction returns the "direction" field: "outbound" or "inbound".
func (e AccessEntry) Direction() string { return e.Fields[FieldDirection] }

// SrcIdentity returns "src.identity" (a spiffe:// URI), "" when absent.
func (e AccessEntry) SrcIdentity() string { return e.Fields[FieldSrcIdentity] }

// DstIdentity returns "dst.identity" (a spiffe:// URI), "" when absent.
func (e AccessEntry) DstIdentity() string { return e.Fields[FieldDstIdentity] }

// SrcAddr returns "src.addr" (ip:port).
func (e AccessEntry) SrcAddr() string { return e.Fields[FieldSrcAddr] }

// DstAddr returns "dst.addr": the L4 destination (ip:15008 for HBONE).
func (e AccessEntry) DstAddr() string { return e.Fields[FieldDstAddr] }

// DstHBONEAddr returns "dst.hbone_addr": the target inside the HBONE tunnel
// (ip:port or host:port), "" for plaintext connections.
func (e AccessEntry) DstHBONEAddr() string { return e.Fields[FieldDstHBONEAddr] }

// Error returns the "error" field, "" when the connection succeeded.
func (e AccessEntry) Error() string { return e.Fields[FieldError] }

// TargetAddr returns the effective destination: dst.hbone_addr when the
// connection was tunnelled, dst.addr otherwise.
func (e AccessEntry) TargetAddr() string {
	if a := e.DstHBONEAddr(); a != "" {
		return a
	}
	return e.DstAddr()
}

// IsMTLS reports whether the connection was mutual TLS. ztunnel logs
// src.identity and dst.identity only when the connection was mTLS
// (src/proxy/metrics.rs: `.filter(|_| mtls)`), so the presence of either
// identity means mTLS and the absence of both means plaintext.
func (e AccessEntry) IsMTLS() bool { return e.SrcIdentity() != "" || e.DstIdentity() != "" }

// ParseLog parses ztunnel log output (plain-text or JSON, detected per
// line) and returns every structured line, whatever its target. Lines that
// are not ztunnel log lines (blank lines, panics, stack traces, truncated
// lines with an unterminated quote) are skipped. A "kubectl logs
// --timestamps" prefix is removed. The error is only a read error; the
// entries parsed before it are returned with it.
func ParseLog(r io.Reader) ([]AccessEntry, error) {
	var out []AccessEntry
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			if e, ok := ParseLine(line); ok {
				out = append(out, e)
			}
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// ParseAccessLog is ParseLog restricted to access lines (target "access").
func ParseAccessLog(r io.Reader) ([]AccessEntry, error) {
	all, err := ParseLog(r)
	out := all[:0]
	for _, e := range all {
		if e.Target == AccessTarget {
			out = append(out, e)
		}
	}
	return out, err
}

// ParseLine parses one ztunnel log line in either format. ok is false when
// the line is not a complete ztunnel log line.
func ParseLine(line string) (AccessEntry, bool) {
	line = strings.TrimRight(line, "\r\n")
	raw := line
	line = stripKubectlTimestamp(line)
	var (
		e  AccessEntry
		ok bool
	)
	if strings.HasPrefix(line, "{") {
		e, ok = parseJSONLine(line)
	} else {
		e, ok = parseTextLine(line)
	}
	if !ok {
		return AccessEntry{}, false
	}
	e.Raw = raw
	return e, true
}
