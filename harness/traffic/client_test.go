package traffic

import (
	"strings"
	"testing"
	"time"
)

func TestRequestArgs(t *testing.T) {
	got := strings.Join(Request{URL: "http://s:8080/", Method: "POST", Headers: []string{"X-A: 1"}, Body: "b", Timeout: 2 * time.Second, Count: 3}.Args(), " ")
	want := "/probe request --url http://s:8080/ --method POST --header X-A: 1 --body b --timeout 2s --count 3"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if got := strings.Join(Request{URL: "tcp://s:9090"}.Args(), " "); got != "/probe request --url tcp://s:9090 --timeout 5s" {
		t.Fatalf("defaults: %q", got)
	}
}

func TestParseResults(t *testing.T) {
	out := []byte(`{"url":"http://s","protocol":"http","status":200,"errorClass":""}` + "\n" +
		`{"url":"http://s","protocol":"http","status":0,"error":"read: connection reset by peer","errorClass":"reset"}` + "\n")
	rs, err := ParseResults(out, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != 200 || rs[1].ErrorClass != "reset" {
		t.Fatalf("%+v", rs)
	}
	if _, err := ParseResults(out, 3); err == nil || !strings.Contains(err.Error(), "printed 2 results, want 3") {
		t.Fatalf("err=%v", err)
	}
	if _, err := ParseResults([]byte("exec format error\n"), 1); err == nil || !strings.Contains(err.Error(), "not a result") {
		t.Fatalf("err=%v", err)
	}
}
