// Package agent benchmarks the node agent end to end: 1000 peer Nodes in a
// real kube-apiserver, the agent's kernel side in a throwaway netns. It
// prints the time to the first full converge, netlink calls, memory, and
// the cost of one peer change; it asserts nothing on time.
package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/bgp"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

const nPeers = 1000

// peerNode i: even peers on-link (native), odd peers off-link behind
// 192.168.255.254 with tunnel segmentation on both ends (VXLAN).
func peerNode(i int) (*corev1.Node, error) {
	ip := netip.AddrFrom4([4]byte{192, 168, byte(i / 250), byte(i%250 + 1)})
	if i%2 == 1 {
		ip = netip.AddrFrom4([4]byte{10, 200, byte(i / 250), byte(i%250 + 1)})
	}
	f := nodeinfo.Facts{Version: nodeinfo.FactsVersion, AgentVersion: "bench", UplinkMTU: 1500, Encaps: []string{"vxlan"},
		Verdict:   offload.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true},
		Endpoints: []nodeinfo.Endpoint{{IP: ip.String(), VTEPMAC: overlay.VTEPMAC(ip).String()}}}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i & 255), 0}), 24).String()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("peer-%04d", i),
		Annotations: map[string]string{nodeinfo.AnnotationKey: string(b)}}}
	n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
	// The agent admits an endpoint only when it is one of the Node's
	// addresses (issue 11), as the kubelet publishes them.
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}}
	return n, nil
}

func createPeers(b *testing.B, cs kubernetes.Interface) {
	var wg sync.WaitGroup
	errs := make(chan error, nPeers)
	work := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				n, err := peerNode(i)
				var created *corev1.Node
				if err == nil {
					created, err = cs.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{})
				}
				if err == nil { // status is not taken on create
					created.Status = n.Status
					_, err = cs.CoreV1().Nodes().UpdateStatus(context.Background(), created, metav1.UpdateOptions{})
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 1; i <= nPeers; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func sh(b *testing.B, args ...string) {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func rssKiB() string {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return f[1] + " kB"
		}
	}
	return "?"
}

type histo struct {
	count uint64
	sum   float64
}

// converges reads the agent's converge-duration histogram for kind.
func converges(b *testing.B, reg *prometheus.Registry, kind string) histo {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "offload_overlay_converge_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return histo{m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()}
				}
			}
		}
	}
	return histo{}
}

type netlinkStats interface{ NetlinkStats() (writes, reads uint64) }

func BenchmarkAgent1000Peers(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	env := k8senv.Start(b, k8senv.Options{AuthorizationMode: "AlwaysAllow"})
	admin, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	nsName := fmt.Sprintf("ooag-bench-%d", os.Getpid())
	sh(b, "ip", "netns", "add", nsName)
	b.Cleanup(func() { _ = exec.Command("ip", "netns", "del", nsName).Run() })
	for _, c := range [][]string{
		{"link", "set", "lo", "up"}, {"link", "add", "a0", "type", "veth", "peer", "name", "r0"},
		{"addr", "add", "192.168.250.250/16", "dev", "a0"}, {"link", "set", "a0", "up"}, {"link", "set", "r0", "up"},
		{"route", "add", "10.200.0.0/16", "via", "192.168.255.254"},
	} {
		sh(b, append([]string{"ip", "-n", nsName}, c...)...)
	}
	netns, err := ns.GetNS("/run/netns/" + nsName)
	if err != nil {
		b.Fatal(err)
	}
	defer netns.Close()

	local := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bench-node"}}
	local.Spec.PodCIDR, local.Spec.PodCIDRs = "10.63.0.0/24", []string{"10.63.0.0/24"}
	local.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.250.250"}}
	created, err := admin.CoreV1().Nodes().Create(context.Background(), local, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	created.Status = local.Status
	if _, err := admin.CoreV1().Nodes().UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	createPeers(b, admin)
	b.Logf("created %d peer Nodes in %s", nPeers, time.Since(t0).Round(time.Millisecond))

	stateDir := b.TempDir()
	cfg := &config.Config{NodeName: "bench-node", StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/9")}, // pod CIDRs 10.63-10.67, node IPs 10.200 outside,
		Decision:     decision.Config{Mode: decision.ModeAuto, UnderlayRoutesPodCIDRs: false},
		ResyncPeriod: time.Hour, ProbePeriod: time.Hour}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	kernel, err := linux.New(linux.Config{NetNS: netns, VNI: 1, Port: 4789, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = linux.CleanupNode(kernel, stateDir) })
	reg := prometheus.NewRegistry()
	client, err := coreapi.NewForConfig(env.Config) // the binary's client
	if err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(cfg, agent.Deps{Nodes: client.Nodes(), Events: client.Events(), Kernel: kernel, BGP: newSpeaker, Decide: decision.Decide, Registry: reg, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	rssBefore := rssKiB()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- a.Run(ctx) }()
	defer cancel()
	for !a.Ready() {
		if time.Since(start) > 2*time.Minute {
			b.Fatal("agent not ready after 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	firstConverge := time.Since(start)
	for converges(b, reg, "resync").count == 0 { // the start-up resync follows the first sync
		time.Sleep(5 * time.Millisecond)
	}
	settled := time.Since(start)
	st, err := state.Read(stateDir)
	if err != nil {
		b.Fatal(err)
	}
	w0, r0 := kernel.(netlinkStats).NetlinkStats()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	inc0, rs0 := converges(b, reg, "incremental"), converges(b, reg, "resync")
	b.Logf("first converge of %d peers (modes %v, pod MTU %d): ready %s after start (informer list, inspection, devices, routes); "+
		"converge work %.0f ms (incremental) + %.0f ms (resync, kernel re-read), settled at %s; netlink writes %d, dumps %d",
		nPeers, st.Modes, st.MTU, firstConverge.Round(time.Millisecond), inc0.sum*1000, rs0.sum*1000, settled.Round(time.Millisecond), w0, r0)
	if pf, err := peerstate.Read(stateDir); err == nil && len(pf.Ignored) > 0 {
		b.Fatalf("%d of %d peers ignored, first: %s: %s", len(pf.Ignored), nPeers, pf.Ignored[0].Name, pf.Ignored[0].Reason)
	}
	b.Logf("memory: process RSS %s before the agent, %s at %d peers (test process: agent + harness client); Go heap in use %.1f MiB",
		rssBefore, rssKiB(), nPeers, float64(ms.HeapInuse)/(1<<20))

	// One peer change: a VXLAN peer moves to a new node IP (its VTEP MAC,
	// derived from the endpoint, with it). The Node lists the new address
	// first (the agent admits only endpoints among a Node's addresses);
	// the clock starts at the annotation patch.
	n, err := admin.CoreV1().Nodes().Get(context.Background(), "peer-0501", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	newIP := netip.MustParseAddr("10.200.9.9")
	newMAC := overlay.VTEPMAC(newIP).String()
	n.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: newIP.String()}}, n.Status.Addresses...)
	if _, err := admin.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the address change converges first (nothing to do: same endpoint)
	inc0 = converges(b, reg, "incremental")
	w0, r0 = kernel.(netlinkStats).NetlinkStats()
	var f nodeinfo.Facts
	_ = json.Unmarshal([]byte(n.Annotations[nodeinfo.AnnotationKey]), &f)
	f.Endpoints[0] = nodeinfo.Endpoint{IP: newIP.String(), VTEPMAC: newMAC}
	raw, _ := json.Marshal(f)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{nodeinfo.AnnotationKey: string(raw)}}})
	t1 := time.Now()
	if _, err := admin.CoreV1().Nodes().Patch(context.Background(), n.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	for {
		out, _ := exec.Command("bridge", "-n", nsName, "fdb", "show", "dev", "oo-vxlan4").CombinedOutput()
		if strings.Contains(string(out), newMAC+" dst "+newIP.String()) {
			break
		}
		if time.Since(t1) > 30*time.Second {
			b.Fatalf("peer change not applied after 30 s: no FDB entry %s dst %s", newMAC, newIP)
		}
		time.Sleep(2 * time.Millisecond)
	}
	change := time.Since(t1)
	time.Sleep(100 * time.Millisecond)
	w1, r1 := kernel.(netlinkStats).NetlinkStats()
	inc1 := converges(b, reg, "incremental")
	b.Logf("one peer change (a VXLAN peer's node IP and VTEP MAC): in the FDB %s after the API patch (watch latency included); "+
		"%d converge(s) taking %.1f ms (recompute of %d peers in memory + writes); netlink writes %d, dumps %d",
		change.Round(time.Millisecond), inc1.count-inc0.count, (inc1.sum-inc0.sum)*1000, nPeers, w1-w0, r1-r0)
	cancel()
	<-done
	if err := linux.CleanupNode(kernel, stateDir); err != nil {
		b.Fatal(err)
	}
	for _, bin := range agentBinaries(b) {
		binaryRSS(b, env, netns, nsName, bin)
	}
	b.ReportMetric(firstConverge.Seconds(), "s/first-converge")
	b.ReportMetric(float64(w1-w0), "netlink-writes/change")
}

// agentBinaries are the agent binaries binaryRSS measures: by default
// bin/offload-overlay-agent (make build); OO_AGENT_BENCH_BINS, a
// space-separated list, measures several in turn against the same API
// server and peers (e.g. "old new old new" to interleave a comparison).
func agentBinaries(b *testing.B) []string {
	bins := strings.Fields(os.Getenv("OO_AGENT_BENCH_BINS"))
	if len(bins) == 0 {
		bins = []string{"../../../bin/offload-overlay-agent"}
	}
	for i, bin := range bins {
		abs, err := filepath.Abs(bin)
		if err != nil {
			b.Fatal(err)
		}
		bins[i] = abs
	}
	return bins
}

// binaryRSS runs the real agent binary bin in the node's namespace against
// the same 1000 peers and prints its size and resident memory once it has
// converged.
func binaryRSS(b *testing.B, env *k8senv.Env, netns ns.NetNS, nsName, bin string) {
	fi, err := os.Stat(bin)
	if err != nil {
		b.Logf("agent binary RSS: skipped, %s missing (make build)", bin)
		return
	}
	port := forwardInto(b, netns, strings.TrimPrefix(env.URL, "https://"))
	dir := b.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := k8senv.WriteKubeconfig(kc, fmt.Sprintf("https://127.0.0.1:%d", port), env.CACertFile, env.AdminToken); err != nil {
		b.Fatal(err)
	}
	stateDir := filepath.Join(dir, "state")
	cmd := exec.Command("ip", "netns", "exec", nsName, bin, "run", "--node-name", "bench-node", "--kubeconfig", kc,
		"--state-dir", stateDir, "--metrics-addr", "", "--cluster-cidr", "10.0.0.0/8", "--resync-period", "1h",
		"--probe-period", "1h", "--log-level", "error")
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), strings.Fields(os.Getenv("OO_AGENT_BENCH_ENV"))...)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		_ = exec.Command("ip", "netns", "exec", nsName, bin, "cleanup", "--state-dir", stateDir).Run()
	}()
	start := time.Now()
	for {
		if st, err := state.Read(stateDir); err == nil && st.Ready {
			break
		}
		if time.Since(start) > time.Minute {
			b.Fatal("agent binary not ready after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ready := time.Since(start)
	time.Sleep(2 * time.Second) // start-up resync and the first probe round
	rss, hwm := procMem(cmd.Process.Pid)
	b.Logf("agent binary %s (%.1f MB) at %d peers: ready %s after exec, RSS %s, peak RSS %s",
		bin, float64(fi.Size())/1e6, nPeers, ready.Round(time.Millisecond), rss, hwm)
}

// forwardInto listens on 127.0.0.1 inside netns and forwards every
// connection to target in this process's own namespace, so a process in
// the node namespace reaches the API server without touching host devices.
func forwardInto(b *testing.B, netns ns.NetNS, target string) int {
	var ln net.Listener
	err := netns.Do(func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				d, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer d.Close()
				go func() { _, _ = io.Copy(d, c) }()
				_, _ = io.Copy(c, d)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func procMem(pid int) (rss, hwm string) {
	raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	var anon, file string
	defer func() { rss += " (anonymous " + anon + ", file-backed " + file + ")" }()
	for _, l := range strings.Split(string(raw), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "RssAnon:" {
			anon = f[1] + " kB"
		}
		if len(f) >= 2 && f[0] == "RssFile:" {
			file = f[1] + " kB"
		}
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss = f[1] + " kB"
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm = f[1] + " kB"
		}
	}
	return rss, hwm
}

// newSpeaker is the binary's BGP speaker (agent.NewSpeaker); the bench
// configures no BGP peer, so it never starts.
func newSpeaker(log *slog.Logger, onSession func(bgptypes.Session), onLearnt func()) (agent.Speaker, prometheus.Collector) {
	return bgp.ForAgent(log, onSession, onLearnt)
}
