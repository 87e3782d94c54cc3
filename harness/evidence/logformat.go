package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the two line layouts of ztunnel src/telemetry.rs.
//
// Plain text (IstioFormat):
//
//	<time> TAB <level> TAB <target>[:<span>{<fields>}]... TAB <message> TAB <k=v> <k=v> ...
//
// The message is followed by a tab even when no field follows. Values are
// written with Rust's Debug formatting: strings quoted with Rust escapes,
// Display values (%addr) and numbers bare.
//
// JSON (IstioJsonFormat, LOG_FORMAT=json): one object per line with "level",
// "time", "scope" (the full target, e.g. "access" or
// "ztunnel::proxy::connection_manager"), "message", the event fields under
// their own names ("src.addr", ...; integers as JSON numbers), and one nested
// object per span, keyed by span name.

const targetPrefix = "ztunnel::"

var levels = map[string]bool{"trace": true, "debug": true, "info": true, "warn": true, "error": true}

func validTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// stripKubectlTimestamp removes the "<RFC3339> " prefix that
// "kubectl logs --timestamps" puts before each line.
func stripKubectlTimestamp(line string) string {
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 || strings.ContainsRune(line[:sp], '\t') || !validTime(line[:sp]) {
		return line
	}
	rest := line[sp+1:]
	if strings.HasPrefix(rest, "{") {
		return rest
	}
	if tab := strings.IndexByte(rest, '\t'); tab > 0 && validTime(rest[:tab]) {
		return rest
	}
	return line
}

func parseTextLine(line string) (AccessEntry, bool) {
	parts := strings.SplitN(line, "\t", 4)
	if len(parts) < 3 || !validTime(parts[0]) || !levels[parts[1]] {
		return AccessEntry{}, false
	}
	e := AccessEntry{Time: parts[0], Level: parts[1], Fields: map[string]string{}}
	target, err := parseTarget(parts[2], e.Fields)
	if err != nil {
		return AccessEntry{}, false
	}
	e.Target = target
	if len(parts) == 4 {
		rest := parts[3]
		if i := strings.IndexByte(rest, '\t'); i >= 0 {
			e.Message, rest = rest[:i], rest[i+1:]
		}
		if err := parseKV(rest, "", e.Fields); err != nil {
			return AccessEntry{}, false
		}
	}
	return e, true
}

// parseTarget splits "proxy::connection_manager:proxy{wl=ns/name}" into the
// target and its spans; span fields go to fields as "<span>.<key>".
func parseTarget(s string, fields map[string]string) (string, error) {
	i := 0
	for i < len(s) {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				i += 2
				continue
			}
			break
		}
		i++
	}
	target := strings.TrimPrefix(s[:i], targetPrefix)
	for i < len(s) { // at ':' starting a span
		i++
		start := i
		for i < len(s) && s[i] != '{' && s[i] != ':' {
			i++
		}
		name := s[start:i]
		if i < len(s) && s[i] == '{' {
			end, err := spanEnd(s, i+1)
			if err != nil {
				return "", err
			}
			if err := parseKV(s[i+1:end], name+".", fields); err != nil {
				return "", err
			}
			i = end + 1
		}
	}
	return target, nil
}

// spanEnd returns the index of the '}' closing a span's fields starting at i,
// skipping quoted strings.
func spanEnd(s string, i int) (int, error) {
	for i < len(s) {
		switch s[i] {
		case '"':
			_, n, err := unquoteRust(s[i:])
			if err != nil {
				return 0, err
			}
			i += n
			continue
		case '}':
			return i, nil
		}
		i++
	}
	return 0, errUnterminated
}

var errUnterminated = errors.New("unterminated value")

// parseKV parses space-separated key=value pairs. Quoted values use Rust's
// Debug escapes. A bare value runs until a space that is followed by
// another "key=", so Display values containing spaces survive.
func parseKV(s, prefix string, fields map[string]string) error {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil
		}
		eq := keyLen(s)
		if eq <= 0 || eq >= len(s) || s[eq] != '=' {
			return errors.New("expected key=value")
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			v, n, err := unquoteRust(s)
			if err != nil {
				return err
			}
			val, s = v, s[n:]
			if s != "" && s[0] != ' ' && s[0] != '\t' {
				return errors.New("garbage after quoted value")
			}
		} else {
			end := bareEnd(s)
			val, s = s[:end], s[end:]
		}
		fields[prefix+key] = val
	}
}

// keyLen returns the length of the field name at the start of s.
func keyLen(s string) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			i++
			continue
		}
		break
	}
	return i
}

func bareEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			continue
		}
		rest := strings.TrimLeft(s[i:], " \t")
		if k := keyLen(rest); rest == "" || k > 0 && k < len(rest) && rest[k] == '=' {
			return i
		}
	}
	return len(s)
}

// unquoteRust decodes a Rust Debug-formatted string literal at the start of
// s and returns it with the number of bytes consumed. It understands \" \\
// \' \n \r \t \0 and \u{XXXX}.
func unquoteRust(s string) (string, int, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", 0, errors.New("not a quoted string")
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errUnterminated
			}
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			case '\\', '"', '\'':
				b.WriteByte(s[i+1])
			case 'u':
				end := strings.IndexByte(s[i:], '}')
				if !strings.HasPrefix(s[i+2:], "{") || end < 0 {
					return "", 0, errors.New(`bad \u escape`)
				}
				r, err := strconv.ParseUint(s[i+3:i+end], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", 0, errors.New(`bad \u escape`)
				}
				b.WriteRune(rune(r))
				i += end + 1
				continue
			default: // unknown escape: keep it as written
				b.WriteByte('\\')
				b.WriteByte(s[i+1])
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, errUnterminated
}

func parseJSONLine(line string) (AccessEntry, bool) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return AccessEntry{}, false
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	e := AccessEntry{
		Time:    str("time"),
		Level:   strings.ToLower(str("level")),
		Target:  strings.TrimPrefix(str("scope"), targetPrefix),
		Message: str("message"),
		Fields:  map[string]string{},
	}
	if !validTime(e.Time) || !levels[e.Level] || e.Target == "" {
		return AccessEntry{}, false
	}
	for k, v := range m {
		switch k {
		case "time", "level", "scope", "message":
			continue
		}
		flattenJSON(k, v, e.Fields)
	}
	return e, true
}

func flattenJSON(key string, v any, out map[string]string) {
	switch v := v.(type) {
	case nil:
	case string:
		out[key] = v
	case json.Number:
		out[key] = v.String()
	case bool:
		out[key] = strconv.FormatBool(v)
	case map[string]any:
		for k, sub := range v {
			flattenJSON(key+"."+k, sub, out)
		}
	default:
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err == nil {
			out[key] = strings.TrimSpace(buf.String())
		}
	}
}
