package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"

	"github.com/ambient-e2e/ambient-e2e/harness/istioctl"
	"github.com/ambient-e2e/ambient-e2e/harness/mirror"
)

func mirrorCmd() *cobra.Command {
	var (
		addr            string
		istioctls, imgs []string
	)
	c := &cobra.Command{
		Use:   "mirror --addr HOST:PORT [--istioctl VERSION=PATH]... [--image ARCHIVE=REPOSITORY:TAG]...",
		Short: "Serve a local Istio release mirror: an OCI registry and istioctl archives with their checksums",
		Long: `mirror serves, from one address until interrupted, what make e2e downloads
from the internet: an OCI registry (go-containerregistry's, in process) holding
the images given (each a docker-archive tarball, pushed as REPOSITORY:TAG), and
istioctl release archives in the layout of Istio's GitHub releases with their
.sha256. It prints the settings that point a run at it (ISTIO_HUB for the
repositories under "istio/", ISTIO_DOWNLOAD_BASE). A node pulls from it over
plain HTTP: its container runtime must allow that registry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := mirror.New()
			for _, kv := range istioctls {
				version, path, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--istioctl %q: want VERSION=PATH", kv)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				platform, err := istioctl.Platform("linux", runtime.GOARCH)
				if err != nil {
					return err
				}
				p, err := m.AddIstioctl(version, platform, b)
				if err != nil {
					return err
				}
				say("serving " + p + " (and .sha256)")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: m, ReadHeaderTimeout: 30 * time.Second}
			go func() { _ = srv.Serve(ln) }()
			host := ln.Addr().String()
			for _, kv := range imgs {
				archive, ref, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--image %q: want ARCHIVE=REPOSITORY:TAG", kv)
				}
				tag, err := name.NewTag(ref)
				if err != nil {
					return err
				}
				img, err := tarball.ImageFromPath(archive, nil) // the archive's one image
				if err != nil {
					return fmt.Errorf("%s (one image per archive): %w", archive, err)
				}
				dst, err := name.NewTag(host+"/"+tag.RepositoryStr()+":"+tag.TagStr(), name.Insecure)
				if err != nil {
					return err
				}
				if err := remote.Write(dst, img, remote.WithContext(cmd.Context())); err != nil {
					return fmt.Errorf("pushing %s: %w", dst, err)
				}
				say("serving image " + dst.String())
			}
			fmt.Printf("ISTIO_HUB=%s/istio ISTIO_DOWNLOAD_BASE=%s\n", host, mirror.DownloadBase("http://"+host))
			ctx, stop := signal.NotifyContext(context.WithoutCancel(cmd.Context()), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "the address to serve on (port 0: any free port)")
	c.Flags().StringArrayVar(&istioctls, "istioctl", nil, "VERSION=PATH: publish this istioctl binary as release VERSION (linux)")
	c.Flags().StringArrayVar(&imgs, "image", nil, "ARCHIVE=REPOSITORY:TAG: push the one image of this docker-archive tarball as REPOSITORY:TAG")
	return c
}
