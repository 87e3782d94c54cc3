package evidence

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		wantOK     bool
		target     string
		level      string
		message    string
		fields     map[string]string // subset that must be present
		absent     []string
		mtls       bool
		nFields    int // exact field count when > 0
		errorField string
	}{
		{
			name: "facts example", line: factsExampleLine, wantOK: true,
			target: "access", level: "info", message: "connection complete", mtls: true, nFields: 14,
			fields: map[string]string{
				"src.addr": "10.129.0.48:40978", "src.workload": "productpage-v1-…", "src.namespace": "bookinfo",
				"src.identity": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage",
				"dst.addr":     "10.129.0.43:15008", "dst.hbone_addr": "10.129.0.43:9080",
				"dst.service": "details.bookinfo.svc.cluster.local", "dst.workload": "details-v1-…",
				"dst.namespace": "bookinfo", "dst.identity": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details",
				"direction": "outbound", "bytes_sent": "283", "bytes_recv": "358", "duration": "2ms",
			},
		},
		{
			name: "json outbound", line: outboundJSON, wantOK: true,
			target: "access", level: "info", message: "connection complete", mtls: true, nFields: 16,
			fields: map[string]string{"src.identity": clientSA, "dst.identity": serverSA, "bytes_sent": "78", "dst.hbone_addr": "10.244.2.9:8080"},
		},
		{
			name: "inbound", line: inboundLine, wantOK: true,
			target: "access", level: "info", message: "connection complete", mtls: true, nFields: 16,
			fields: map[string]string{"direction": "inbound", "dst.addr": "10.244.2.9:15008", "src.cluster": "Kubernetes"},
		},
		{
			name: "plaintext inbound", line: plaintextInboundLine, wantOK: true,
			target: "access", level: "info", message: "connection complete", mtls: false,
			fields: map[string]string{"dst.addr": "10.244.2.9:8080", "src.namespace": "legacy"},
			absent: []string{"src.identity", "dst.identity", "dst.hbone_addr"},
		},
		{
			name: "deny not allowed", line: denyNotAllowedLine, wantOK: true,
			target: "access", level: "error", message: "connection complete", mtls: true,
			errorField: "connection closed due to policy rejection: allow policies exist, but none allowed",
		},
		{
			name: "escaped quotes, spaces, tab, unicode", line: escapedLine, wantOK: true,
			target: "access", level: "error", message: "connection complete",
			errorField: "io error: \"peer\" said \\ no\tthen \x1b[0m bye",
			fields:     map[string]string{"duration": "5ms", "direction": "outbound"},
		},
		{
			name: "early deny", line: earlyDenyLine, wantOK: true,
			target: "access", level: "warn", message: "connection failed", nFields: 4,
			errorField: "expected method CONNECT, got GET",
		},
		{
			name: "policy close text", line: policyCloseLine, wantOK: true,
			target: "proxy::connection_manager", level: "info", nFields: 1,
			message: "connection 10.244.1.7:51400(spiffe://cluster.local/ns/app/sa/client)->10.244.2.9:8080 (Kubernetes//Pod/app/server-7c9d4f6b8-kq2lm) closed because it's no longer allowed after a policy update",
			fields:  map[string]string{"proxy.wl": "app/server-7c9d4f6b8-kq2lm"},
		},
		{
			name: "policy close json", line: policyCloseJSON, wantOK: true,
			target: "proxy::connection_manager", level: "info", nFields: 1,
			fields: map[string]string{"proxy.wl": "app/server-7c9d4f6b8-kq2lm"},
		},
		{
			name: "xds span", line: xdsLine, wantOK: true,
			target: "xds::client", level: "info", message: "received response", nFields: 4,
			fields: map[string]string{"xds.id": "2", "type_url": "type.googleapis.com/istio.workload.Address", "size": "4", "removes": "0"},
		},
		{name: "message only", line: startupLine, wantOK: true, target: "app", level: "info", message: "in-pod mode enabled", nFields: -1},
		{name: "kubectl --timestamps", line: "2025-06-12T09:14:03.512399123Z " + outboundLine, wantOK: true, target: "access", level: "info", message: "connection complete", mtls: true},
		{name: "kubectl --timestamps json", line: "2025-06-12T09:14:03.512399123Z " + outboundJSON, wantOK: true, target: "access", level: "info", message: "connection complete", mtls: true},
		{name: "CRLF", line: outboundLine + "\r\n", wantOK: true, target: "access", level: "info", message: "connection complete", mtls: true, fields: map[string]string{"duration": "3ms"}},
		{name: "truncated in quoted value", line: truncatedLine},
		{name: "truncated in message", line: "2025-06-12T09:19:00.000001Z\tinfo\taccess\tconnection comp"},
		{name: "truncated json", line: outboundJSON[:120]},
		{name: "panic", line: panicLine},
		{name: "panic note", line: panicNote},
		{name: "blank", line: ""},
		{name: "bad level", line: "2025-06-12T09:19:00.000001Z\tnotice\taccess\tconnection complete\t"},
		{name: "json from another program", line: `{"msg":"hello","ts":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := ParseLine(tt.line)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (entry %+v)", ok, tt.wantOK, e)
			}
			if !ok {
				return
			}
			if e.Target != tt.target || e.Level != tt.level {
				t.Errorf("target/level = %q/%q, want %q/%q", e.Target, e.Level, tt.target, tt.level)
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
			for k, v := range tt.fields {
				if got, ok := e.Fields[k]; !ok || got != v {
					t.Errorf("field %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := e.Fields[k]; ok {
					t.Errorf("field %s = %q, want absent", k, v)
				}
			}
			if tt.nFields > 0 && len(e.Fields) != tt.nFields {
				t.Errorf("%d fields, want %d: %v", len(e.Fields), tt.nFields, e.Fields)
			}
			if tt.nFields < 0 && len(e.Fields) != 0 {
				t.Errorf("fields = %v, want none", e.Fields)
			}
			if e.IsMTLS() != tt.mtls {
				t.Errorf("IsMTLS = %v, want %v", e.IsMTLS(), tt.mtls)
			}
			if e.Error() != tt.errorField {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.errorField)
			}
			if e.Raw != strings.TrimRight(tt.line, "\r\n") {
				t.Errorf("Raw = %q", e.Raw)
			}
		})
	}
}

func TestTextAndJSONAgree(t *testing.T) {
	text, ok1 := ParseLine(outboundLine)
	js, ok2 := ParseLine(outboundJSON)
	if !ok1 || !ok2 {
		t.Fatalf("parse: text %v json %v", ok1, ok2)
	}
	if !maps.Equal(text.Fields, js.Fields) || text.Time != js.Time || text.Level != js.Level || text.Target != js.Target || text.Message != js.Message {
		t.Errorf("text and JSON differ:\ntext %+v\njson %+v", text, js)
	}
}

func TestAccessEntryHelpers(t *testing.T) {
	e, ok := ParseLine(factsExampleLine)
	if !ok {
		t.Fatal("facts example did not parse")
	}
	got := []string{e.Direction(), e.SrcIdentity(), e.DstIdentity(), e.SrcAddr(), e.DstAddr(), e.DstHBONEAddr(), e.TargetAddr(), e.Error(), e.Time}
	want := []string{"outbound", "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage", "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details",
		"10.129.0.48:40978", "10.129.0.43:15008", "10.129.0.43:9080", "10.129.0.43:9080", "", "2025-01-23T05:07:25.806642Z"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("helper %d = %q, want %q", i, got[i], want[i])
		}
	}
	p, _ := ParseLine(plaintextInboundLine)
	if p.TargetAddr() != "10.244.2.9:8080" {
		t.Errorf("plaintext TargetAddr = %q", p.TargetAddr())
	}
}

func TestParseAccessLog(t *testing.T) {
	all, err := ParseLog(strings.NewReader(mixedLog))
	if err != nil {
		t.Fatal(err)
	}
	// startup, xds, opened, outbound, plaintext, 401, json; not: blank, panic x2, truncated
	if len(all) != 7 {
		t.Errorf("ParseLog: %d entries, want 7", len(all))
	}
	access, err := ParseAccessLog(strings.NewReader(mixedLog))
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range access {
		msgs = append(msgs, e.Level+" "+e.Message+" "+e.Direction())
	}
	want := []string{
		"debug connection opened outbound",
		"info connection complete outbound",
		"info connection complete outbound",
		"error connection complete outbound",
		"info connection complete outbound",
	}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Errorf("access lines:\n got %q\nwant %q", msgs, want)
	}

	// A last line without newline is parsed too.
	noNL, _ := ParseAccessLog(strings.NewReader(inboundLine))
	if len(noNL) != 1 {
		t.Errorf("line without newline: %d entries", len(noNL))
	}
	// Read errors are returned with what was parsed before them.
	boom := errors.New("boom")
	part, err := ParseAccessLog(&failAfter{data: outboundLine + "\n", err: boom})
	if !errors.Is(err, boom) || len(part) != 1 {
		t.Errorf("read error: err=%v entries=%d, want boom and 1", err, len(part))
	}
}

type failAfter struct {
	data string
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestMatch(t *testing.T) {
	entries, err := ParseAccessLog(strings.NewReader(strings.Join([]string{
		outboundLine, inboundLine, plaintextInboundLine, plaintextOutboundLine, denyNotAllowedLine, openedLine,
	}, "\n")))
	if err != nil || len(entries) != 6 {
		t.Fatalf("setup: %d entries, err %v", len(entries), err)
	}
	tests := []struct {
		name string
		q    ConnQuery
		want []string // times
	}{
		{"all", ConnQuery{}, []string{"09:14:03.512345", "09:14:03.514001", "09:15:10.000101", "09:15:20.000202", "09:16:00.100000", "09:14:03.509001"}},
		{"complete outbound", ConnQuery{Direction: "outbound", Message: MsgConnectionComplete}, []string{"09:14:03.512345", "09:15:20.000202"}},
		{"identities", ConnQuery{SrcIdentity: clientSA, DstIdentity: serverSA, Direction: "inbound"}, []string{"09:14:03.514001", "09:16:00.100000"}},
		{"identity without scheme", ConnQuery{SrcIdentity: "cluster.local/ns/app/sa/client", Direction: "outbound", Message: MsgConnectionComplete}, []string{"09:14:03.512345"}},
		{"dst port is the hbone port", ConnQuery{DstPort: "8080"}, []string{"09:14:03.512345", "09:14:03.514001", "09:15:10.000101", "09:15:20.000202", "09:16:00.100000", "09:14:03.509001"}},
		{"port 15008 matches nothing", ConnQuery{DstPort: "15008"}, nil},
		{"src ip", ConnQuery{SrcIP: "10.244.1.12"}, []string{"09:15:10.000101"}},
		{"dst ip", ConnQuery{DstIP: "10.244.2.9", Direction: "inbound", Message: MsgConnectionComplete, SrcIdentity: clientSA}, []string{"09:14:03.514001", "09:16:00.100000"}},
		{"wrong identity", ConnQuery{DstIdentity: SPIFFE("", "app", "other")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range Match(entries, tt.q) {
				got = append(got, e.Time[11:26])
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSPIFFE(t *testing.T) {
	if got := SPIFFE("cluster.local", "app", "client"); got != clientSA {
		t.Errorf("SPIFFE = %q", got)
	}
	if got := SPIFFE("", "bookinfo", "bookinfo-details"); got != "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-details" {
		t.Errorf("SPIFFE default trust domain = %q", got)
	}
	if got := SPIFFE("td.example", "a", "b"); got != "spiffe://td.example/ns/a/sa/b" {
		t.Errorf("SPIFFE custom trust domain = %q", got)
	}
	for in, want := range map[string]string{
		"cluster.local/ns/a/sa/b": "spiffe://cluster.local/ns/a/sa/b",
		clientSA:                  clientSA,
		"":                        "",
		"unknown":                 "unknown",
	} {
		if got := NormalizeIdentity(in); got != want {
			t.Errorf("NormalizeIdentity(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnquoteRust(t *testing.T) {
	tests := []struct {
		in, want string
		n        int
		err      bool
	}{
		{`"plain"`, "plain", 7, false},
		{`"a \"q\" b" rest`, `a "q" b`, 11, false},
		{`"back\\slash"`, `back\slash`, 13, false},
		{`"nl\ncr\rtab\tnul\0'\'"`, "nl\ncr\rtab\tnul\x00''", 23, false},
		{`"\u{e9}\u{1F600}"`, "é😀", 17, false},
		{`"unterminated`, "", 0, true},
		{`"ends in backslash\`, "", 0, true},
		{`"\u{zz}"`, "", 0, true},
		{`bare`, "", 0, true},
	}
	for _, tt := range tests {
		got, n, err := unquoteRust(tt.in)
		if (err != nil) != tt.err || got != tt.want || n != tt.n {
			t.Errorf("unquoteRust(%q) = %q, %d, %v; want %q, %d, err %v", tt.in, got, n, err, tt.want, tt.n, tt.err)
		}
	}
}

func TestParseKVBareValues(t *testing.T) {
	fields := map[string]string{}
	// A Display value with spaces runs until the next key=.
	if err := parseKV(`err=connection refused (os error 111) peer=10.0.0.1:80 n=3`, "", fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"err": "connection refused (os error 111)", "peer": "10.0.0.1:80", "n": "3"}
	if !maps.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
	if err := parseKV(`no equals here`, "", map[string]string{}); err == nil {
		t.Error("want error for text without key=value")
	}
	if err := parseKV(`a="x"b=1`, "", map[string]string{}); err == nil {
		t.Error("want error for garbage after a quoted value")
	}
}
