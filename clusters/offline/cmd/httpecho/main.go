// Command httpecho is a tiny static HTTP server and client for smoke tests of
// offline clusters (its image is built FROM scratch, nothing is pulled).
//
//	httpecho [-listen :8080]                  serve "hello from <host>" on /
//	httpecho -get URL [-timeout 5s]           GET once, print status and body
//	                                          (exit 1 on error or timeout)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve on")
	get := flag.String("get", "", "client mode: URL to GET once")
	timeout := flag.Duration("timeout", 5*time.Second, "client timeout")
	flag.Parse()

	if *get != "" {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *get, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// New connection per request: no keep-alive hiding policy changes.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			fmt.Printf("ERROR after %s: %v\n", time.Since(t0).Round(time.Millisecond), err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		fmt.Printf("%d %s (in %s)\n", resp.StatusCode, string(b), time.Since(t0).Round(time.Millisecond))
		if resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		return
	}

	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s", host)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	log.Printf("httpecho listening on %s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
