// Command offline-cni is a tiny kindnetd-like CNI agent for the offline kind
// clusters of ambient-e2e. It runs as a DaemonSet (hostNetwork) on every node:
//
//   - reads its own node's spec.podCIDRs and writes a CNI conflist
//     (ptp + host-local + portmap, as kindnetd does) into /etc/cni/net.d;
//   - installs a route to every other node's podCIDRs via that node's
//     InternalIP (all nodes share one L2 docker network), and removes routes
//     it installed for nodes that went away;
//   - watches Node objects and re-reconciles on every change (plus a resync).
//
// ptp (a veth per pod, /32 routes on the host) rather than a bridge: every
// pod packet is routed by the node's IP stack, so kube-proxy's and the
// NetworkPolicy enforcer's iptables rules see it even on kernels without
// br_netfilter (bridge-nf-call-iptables), such as this project's CI VMs.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// routeProto marks the routes this agent owns (rtnetlink protocol number).
const routeProto = netlink.RouteProtocol(174)

type agent struct {
	nodeName string
	cniPath  string
	hostIP   string
	lister   func() ([]*corev1.Node, error)
}

func main() {
	var (
		kubeconfig = flag.String("kubeconfig", "", "kubeconfig (default: in-cluster)")
		cniPath    = flag.String("cni-config", "/etc/cni/net.d/10-offline-cni.conflist", "CNI conflist to write")
		resync     = flag.Duration("resync", 30*time.Second, "periodic full reconcile")
	)
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	nodeName := os.Getenv("NODE_NAME")
	if nodeName == "" {
		nodeName, _ = os.Hostname()
	}
	cfg, err := restConfig(*kubeconfig)
	if err != nil {
		log.Fatalf("kube config: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
		if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
			log.Printf("warning: cannot enable forwarding (%s): %v", f, err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(cs, *resync)
	inf := factory.Core().V1().Nodes()
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}); err != nil {
		log.Fatalf("watching nodes: %v", err)
	}
	factory.Start(ctx.Done())
	log.Printf("offline-cni on node %q (api %s), waiting for node cache", nodeName, cfg.Host)
	for !cache.WaitForCacheSync(ctx.Done(), inf.Informer().HasSynced) {
		if ctx.Err() != nil {
			return
		}
	}
	a := &agent{
		nodeName: nodeName,
		cniPath:  *cniPath,
		hostIP:   os.Getenv("HOST_IP"),
		lister: func() ([]*corev1.Node, error) {
			return inf.Lister().List(labels.Everything())
		},
	}
	tick := time.NewTicker(*resync)
	defer tick.Stop()
	poke()
	for {
		select {
		case <-ctx.Done():
			log.Printf("stopping")
			return
		case <-kick:
		case <-tick.C:
		}
		if err := a.reconcile(); err != nil {
			log.Printf("reconcile: %v (retrying in 2s)", err)
			time.AfterFunc(2*time.Second, poke)
		}
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, err
	}
	// kind patches CONTROL_PLANE_ENDPOINT into the first container of every
	// DaemonSet of its default CNI manifest: talk to the API server directly,
	// so the pod network does not depend on kube-proxy having run first.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	return cfg, nil
}

func podCIDRs(n *corev1.Node) []string {
	if len(n.Spec.PodCIDRs) > 0 {
		return n.Spec.PodCIDRs
	}
	if n.Spec.PodCIDR != "" {
		return []string{n.Spec.PodCIDR}
	}
	return nil
}

func internalIPs(n *corev1.Node) []net.IP {
	var out []net.IP
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

func (a *agent) reconcile() error {
	nodes, err := a.lister()
	if err != nil {
		return err
	}
	var self *corev1.Node
	for _, n := range nodes {
		if n.Name == a.nodeName {
			self = n
		}
	}
	if self == nil {
		return fmt.Errorf("node %q not found", a.nodeName)
	}
	own := podCIDRs(self)
	if len(own) == 0 {
		return fmt.Errorf("node %q has no spec.podCIDR yet", a.nodeName)
	}
	if err := a.writeCNIConfig(own); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	return a.syncRoutes(nodes)
}

func (a *agent) mtu() int {
	if a.hostIP == "" {
		return 1500
	}
	links, err := netlink.LinkList()
	if err != nil {
		return 1500
	}
	for _, l := range links {
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_ALL)
		for _, ad := range addrs {
			if ad.IP.String() == a.hostIP {
				return l.Attrs().MTU
			}
		}
	}
	return 1500
}

func (a *agent) writeCNIConfig(cidrs []string) error {
	var ranges [][]map[string]string
	var routes []map[string]string
	for _, c := range cidrs {
		ranges = append(ranges, []map[string]string{{"subnet": c}})
		if strings.Contains(c, ":") {
			routes = append(routes, map[string]string{"dst": "::/0"})
		} else {
			routes = append(routes, map[string]string{"dst": "0.0.0.0/0"})
		}
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "offline-cni",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    a.mtu(),
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": "/run/cni-ipam-state",
					"routes":  routes,
					"ranges":  ranges,
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if old, err := os.ReadFile(a.cniPath); err == nil && (bytes.Equal(old, b) || sameNetwork(old, conf)) {
		// Keep the file as it is when our first plugin already says the same:
		// chained plugins inserted by others (istio-cni in ambient mode adds
		// itself to this conflist) must survive our reconciles.
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.cniPath), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(a.cniPath), ".offline-cni.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, a.cniPath); err != nil {
		return err
	}
	log.Printf("wrote %s for pod CIDRs %v", a.cniPath, cidrs)
	return nil
}

func (a *agent) syncRoutes(nodes []*corev1.Node) error {
	want := map[string]*netlink.Route{}
	for _, n := range nodes {
		if n.Name == a.nodeName {
			continue
		}
		ips := internalIPs(n)
		for _, c := range podCIDRs(n) {
			_, dst, err := net.ParseCIDR(c)
			if err != nil {
				continue
			}
			var gw net.IP
			for _, ip := range ips {
				if (ip.To4() != nil) == (dst.IP.To4() != nil) {
					gw = ip
					break
				}
			}
			if gw == nil {
				log.Printf("node %s: no InternalIP of the family of %s yet", n.Name, c)
				continue
			}
			want[dst.String()] = &netlink.Route{Dst: dst, Gw: gw, Protocol: routeProto}
		}
	}
	var errs []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	have := map[string]netlink.Route{}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := netlink.RouteListFiltered(fam, &netlink.Route{Protocol: routeProto}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			return fmt.Errorf("list routes: %w", err)
		}
		for _, r := range rs {
			if r.Dst != nil {
				have[r.Dst.String()] = r
			}
		}
	}
	for _, k := range keys {
		r := want[k]
		if h, ok := have[k]; ok && h.Gw.Equal(r.Gw) {
			continue
		}
		if err := netlink.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Sprintf("route %s via %s: %v", k, r.Gw, err))
			continue
		}
		log.Printf("route %s via %s", k, r.Gw)
	}
	for k, h := range have {
		if _, ok := want[k]; ok {
			continue
		}
		if err := netlink.RouteDel(&h); err != nil {
			errs = append(errs, fmt.Sprintf("delete route %s: %v", k, err))
			continue
		}
		log.Printf("removed stale route %s", k)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// sameNetwork reports whether an existing conflist starts with the plugin we
// would write (type, ipam ranges and routes, mtu), whatever else it chains.
func sameNetwork(existing []byte, want map[string]any) bool {
	var have struct {
		Plugins []json.RawMessage `json:"plugins"`
	}
	if err := json.Unmarshal(existing, &have); err != nil || len(have.Plugins) == 0 {
		return false
	}
	wantFirst, err := json.Marshal(want["plugins"].([]any)[0])
	if err != nil {
		return false
	}
	var a, b any
	if json.Unmarshal(have.Plugins[0], &a) != nil || json.Unmarshal(wantFirst, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}
