package evidence

import (
	"strings"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	for i := 0; i < 3; i++ {
		start := time.Now()
		_, err := decodeMetrics([]byte(ztunnelScrapeBefore), "application/openmetrics-text; version=1.0.0; charset=utf-8")
		t.Logf("om: %v err=%v", time.Since(start), err)
		start = time.Now()
		_, err = decodeMetrics([]byte(ztunnelScrapeBefore), "text/plain; version=0.0.4")
		t.Logf("text: %v err=%v", time.Since(start), err)
	}
	lines := strings.Split(ztunnelScrapeBefore, "\n")
	one := lines[5]
	for _, n := range []int{1, 4, 16} {
		body := "# TYPE istio_tcp_connections_opened counter\n" + strings.Repeat(one+"\n", 1) + "# EOF\n"
		_ = n
		start := time.Now()
		_, err := decodeMetrics([]byte(body), "application/openmetrics-text; version=1.0.0; charset=utf-8")
		t.Logf("one line len %d: %v %v", len(one), time.Since(start), err)
		one = strings.Replace(one, `reporter="source"`, `reporter="source",x="`+strings.Repeat("a", 100*n)+`"`, 1)
	}
}
