package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/internal/testenv/manifest"
	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// lab is node-a's namespace, a router, and an off-link node-c:
//
//	node-a (a0 192.168.77.1/24, fd77::1/64) -- router (192.168.77.2 | 192.168.88.2) -- node-c (192.168.88.3)
//
// node-b is an on-link peer at 192.168.77.5 (no namespace: only its routes matter).
type lab struct {
	a, r, c string // namespace names
	admin   kubernetes.Interface
	env     *k8senv.Env
}

func newLab(t *testing.T) *lab {
	l := &lab{}
	l.a, _ = addNetns(t, "a")
	l.r, _ = addNetns(t, "r")
	l.c, _ = addNetns(t, "c")
	run(t, "ip", "-n", l.a, "link", "add", "a0", "type", "veth", "peer", "name", "r0", "netns", l.r)
	run(t, "ip", "-n", l.r, "link", "add", "r1", "type", "veth", "peer", "name", "c0", "netns", l.c)
	for _, c := range [][]string{
		{l.a, "addr", "add", "192.168.77.1/24", "dev", "a0"}, {l.a, "addr", "add", "fd77::1/64", "dev", "a0", "nodad"},
		{l.a, "link", "set", "a0", "up"}, {l.a, "route", "add", "192.168.88.0/24", "via", "192.168.77.2"},
		{l.r, "addr", "add", "192.168.77.2/24", "dev", "r0"}, {l.r, "addr", "add", "fd77::2/64", "dev", "r0", "nodad"},
		{l.r, "addr", "add", "192.168.88.2/24", "dev", "r1"}, {l.r, "link", "set", "r0", "up"}, {l.r, "link", "set", "r1", "up"},
		{l.c, "addr", "add", "192.168.88.3/24", "dev", "c0"}, {l.c, "link", "set", "c0", "up"},
		{l.c, "route", "add", "default", "via", "192.168.88.2"}, {l.c, "addr", "add", "10.244.3.1/32", "dev", "lo"},
	} {
		run(t, append([]string{"ip", "-n"}, c...)...)
	}
	run(t, "ip", "netns", "exec", l.r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	setBigTCP(t, l.a, "a0", 185000)
	return l
}

// setBigTCP raises the uplink's GSO/GRO limits (IPv6 and IPv4 variants;
// Debian's iproute2 cannot set the IPv4 ones, netlink can).
// Equivalent to: ip link set $dev gso_max_size $n gro_max_size $n gso_ipv4_max_size $n gro_ipv4_max_size $n
func setBigTCP(t *testing.T, nsName, dev string, size int) {
	t.Helper()
	n, err := nsOf(nsName)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h, err := netlink.NewHandleAt(netns.NsHandle(n.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []func(netlink.Link, int) error{h.LinkSetGSOMaxSize, h.LinkSetGROMaxSize, h.LinkSetGSOIPv4MaxSize, h.LinkSetGROIPv4MaxSize} {
		if err := set(l, size); err != nil {
			t.Fatalf("raising BIG TCP limits on %s: %v", dev, err)
		}
	}
}

// routerRoutesPodCIDRs makes the underlay route node-a's and node-c's pod
// CIDRs (a cloud route table), so the native probe succeeds.
func (l *lab) routerRoutesPodCIDRs(t *testing.T) {
	run(t, "ip", "-n", l.r, "route", "replace", "10.244.1.0/24", "via", "192.168.77.1")
	run(t, "ip", "-n", l.r, "route", "replace", "10.244.3.0/24", "via", "192.168.88.3")
}

func peerFacts(ip, mac string, v offloadtypes.Verdict) nodeinfo.Facts {
	return nodeinfo.Facts{Version: nodeinfo.FactsVersion, AgentVersion: "test", Verdict: v, Encaps: []string{"vxlan"},
		UplinkMTU: 1500, Endpoints: []nodeinfo.Endpoint{{IP: ip, VTEPMAC: mac}}}
}

// vmac is the VTEP MAC an agent derives from its node IP (and admission
// requires).
func vmac(ip string) string { return overlay.VTEPMAC(netip.MustParseAddr(ip)).String() }

// setAddresses replaces a Node's status.addresses (as its kubelet would).
func (l *lab) setAddresses(t *testing.T, name string, ips ...string) {
	t.Helper()
	ctx := context.Background()
	n, err := l.admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = nil
	for _, ip := range ips {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	if _, err := l.admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func annotation(t *testing.T, f nodeinfo.Facts) string {
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (l *lab) createNode(t *testing.T, name, ann string, ips []string, podCIDRs ...string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ann != "" {
		n.Annotations = map[string]string{nodeinfo.AnnotationKey: ann}
	}
	n.Spec.PodCIDRs = podCIDRs
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR = podCIDRs[0]
	}
	ctx := context.Background()
	created, err := l.admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	for _, ip := range ips {
		created.Status.Addresses = append(created.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
	}
	if _, err := l.admin.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting addresses of %s: %v", name, err)
	}
}

func (l *lab) patchNode(t *testing.T, name string, patch any) {
	t.Helper()
	b, _ := json.Marshal(patch)
	if _, err := l.admin.CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, b, metav1.PatchOptions{}); err != nil {
		t.Fatalf("patching %s: %v", name, err)
	}
}

func (l *lab) setAnnotation(t *testing.T, name, ann string) {
	l.patchNode(t, name, map[string]any{"metadata": map[string]any{"annotations": map[string]string{nodeinfo.AnnotationKey: ann}}})
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routes returns node-a's routes installed by the agent (proto 0x4f).
func (l *lab) routes(fam string) string {
	return output("ip", fam, "-n", l.a, "route", "show", "proto", "0x4f")
}

func waitRoute(t *testing.T, l *lab, fam, want string, present bool) {
	t.Helper()
	waitFor(t, 15*time.Second, fmt.Sprintf("route %q present=%v", want, present), func() (bool, string) {
		r := l.routes(fam)
		return strings.Contains(r, want) == present, r
	})
}

// TestAgentAgainstAPIServer runs the agent with node-a's own credentials
// (Node authorizer + NodeRestriction: it cannot write any other Node)
// against a real kube-apiserver, with its kernel side in node-a's netns.
func TestAgentAgainstAPIServer(t *testing.T) {
	needRoot(t)
	const agentToken = "agent-token-0123456789"
	env := k8senv.Start(t, k8senv.Options{Tokens: []k8senv.Token{{Token: agentToken, User: agentUser, UID: "agent",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:offload-overlay", "system:authenticated"}}}})
	l := newLab(t)
	l.env = env
	var err error
	if l.admin, err = kubernetes.NewForConfig(env.Config); err != nil {
		t.Fatal(err)
	}
	grantAgentRBAC(t, env)
	nodeCfg := rest.CopyConfig(env.Config)
	nodeCfg.BearerToken = agentToken
	writes := &writeLog{}
	nodeCfg.Wrap(writes.wrap)
	nodeClient, err := coreapi.NewForConfig(nodeCfg) // the binary's client
	if err != nil {
		t.Fatal(err)
	}

	l.createNode(t, "node-a", "", []string{"192.168.77.1", "fd77::1"})
	nsA, err := nsOf(l.a)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	cfg := &config.Config{NodeName: "node-a", StateDir: stateDir, VNI: 1, VXLANPort: 4789,
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/48")},
		Decision:     decision.Config{Mode: decision.ModeAuto}, ResyncPeriod: 3 * time.Second, ProbePeriod: time.Second}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	first := startAgent(t, nodeClient, cfg, nsA, linux.IPTablesMasq{}, log, false)
	kernel, stop := first.Kernel, first.Stop

	t.Log("no pod CIDR yet: not ready, with the reason")
	waitFor(t, 10*time.Second, "not-ready state file", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && !s.Ready && strings.Contains(s.Reason, "podCIDRs"), fmt.Sprintf("%+v %v", s, err)
	})

	t.Log("pod CIDRs allocated: the agent converges, publishes facts and the condition")
	l.patchNode(t, "node-a", map[string]any{"spec": map[string]any{"podCIDR": "10.244.1.0/24", "podCIDRs": []string{"10.244.1.0/24", "fd00:10:244:1::/64"}}})
	waitFor(t, 20*time.Second, "ready state file", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.Ready, fmt.Sprintf("%+v %v", s, err)
	})
	s, _ := state.Read(stateDir)
	if s.MTU != 1430 || len(s.PodCIDRs) != 2 || s.GSOMaxSize != 0 {
		t.Errorf("state with no peer: %+v (want MTU 1430: dual-stack, VXLAN over IPv6 for a hypothetical off-link peer, no BIG TCP)", s)
	}
	own := l.facts(t, "node-a")
	if len(own.Endpoints) != 2 || own.Endpoints[0].IP != "192.168.77.1" || own.Endpoints[0].VTEPMAC == "" || own.UplinkMTU != 1500 || !own.Verdict.TunnelSegmentation {
		t.Errorf("published facts: %+v", own)
	}
	waitFor(t, 10*time.Second, "NetworkUnavailable=False", func() (bool, string) {
		n, err := l.admin.CoreV1().Nodes().Get(context.Background(), "node-a", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeNetworkUnavailable {
				return c.Status == corev1.ConditionFalse && c.Reason == agent.ConditionReason, fmt.Sprintf("%+v", c)
			}
		}
		return false, "no condition"
	})
	if lo := output("ip", "-n", l.a, "addr", "show", "dev", "lo"); !strings.Contains(lo, "10.244.1.1/32") || !strings.Contains(lo, "fd00:10:244:1::1/128") {
		t.Errorf("probe addresses missing on lo:\n%s", lo)
	}
	if nat := output("ip", "netns", "exec", l.a, "iptables", "-t", "nat", "-S"); !strings.Contains(nat, "OO-MASQ") {
		t.Errorf("masquerade chain missing:\n%s", nat)
	}

	t.Log("on-link dual-stack peer node-b: native routes per family")
	l.createNode(t, "node-b", annotation(t, nodeinfo.Facts{Version: nodeinfo.FactsVersion, UplinkMTU: 1500, Encaps: []string{"vxlan"},
		Endpoints: []nodeinfo.Endpoint{{IP: "192.168.77.5", VTEPMAC: vmac("192.168.77.5")}, {IP: "fd77::5", VTEPMAC: vmac("fd77::5")}}}),
		[]string{"192.168.77.5", "fd77::5"}, "10.244.2.0/24", "fd00:10:244:2::/64")
	waitRoute(t, l, "-4", "10.244.2.0/24 via 192.168.77.5 dev a0", true)
	waitRoute(t, l, "-6", "fd00:10:244:2::/64 via fd77::5 dev a0", true)

	t.Log("off-link peer node-c, both ends segment tunnels, no native probe: one VXLAN level")
	capable := offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	l.createNode(t, "node-c", annotation(t, peerFacts("192.168.88.3", vmac("192.168.88.3"), capable)), []string{"192.168.88.3"}, "10.244.3.0/24")
	waitRoute(t, l, "-4", "10.244.3.0/24 via 10.244.3.0 dev oo-vxlan4", true)
	if fdb := output("bridge", "-n", l.a, "fdb", "show", "dev", "oo-vxlan4"); !strings.Contains(fdb, vmac("192.168.88.3")+" dst 192.168.88.3") {
		t.Errorf("FDB entry for node-c missing:\n%s", fdb)
	}
	waitFor(t, 10*time.Second, "pod MTU 1450 and no BIG TCP with a VXLAN peer", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.MTU == 1450 && s.Modes["vxlan"] == 1 && s.Modes["native"] == 2 && s.GSOMaxSize == 0, fmt.Sprintf("%+v", s)
	})

	t.Log("the underlay starts routing pod CIDRs: both ends probe OK -> native via the next hop")
	l.routerRoutesPodCIDRs(t)
	waitFor(t, 15*time.Second, "node-a publishes nativeProbe[node-c]=true", func() (bool, string) {
		f := l.facts(t, "node-a")
		return f.NativeProbe["node-c"], fmt.Sprintf("%v", f.NativeProbe)
	})
	if r := l.routes("-4"); strings.Contains(r, "10.244.3.0/24 via 192.168.77.2") {
		t.Errorf("native chosen on one side's probe only:\n%s", r)
	}
	cf := peerFacts("192.168.88.3", vmac("192.168.88.3"), capable)
	cf.NativeProbe = map[string]bool{"node-a": true}
	l.setAnnotation(t, "node-c", annotation(t, cf))
	waitRoute(t, l, "-4", "10.244.3.0/24 via 192.168.77.2 dev a0", true)
	waitFor(t, 10*time.Second, "full MTU and BIG TCP with every path native", func() (bool, string) {
		s, err := state.Read(stateDir)
		return err == nil && s.MTU == 1500 && s.Modes["native"] == 3 && s.GSOMaxSize == 185000 && s.GROMaxSize == 185000, fmt.Sprintf("%+v", s)
	})
	if out := output("ip", "netns", "exec", l.a, "ping", "-c1", "-W2", "-I", "10.244.1.1", "10.244.3.1"); !strings.Contains(out, "1 received") {
		t.Errorf("native path to node-c's pod CIDR does not answer:\n%s", out)
	}
	checkPeersFile(t, stateDir, l)

	t.Log("malformed, overlapping and hijacking annotations are ignored with a reason")
	l.createNode(t, "node-d", "{not json", []string{"192.168.77.6"}, "10.244.4.0/24")
	l.createNode(t, "node-e", annotation(t, peerFacts("192.168.77.7", vmac("192.168.77.7"), capable)), []string{"192.168.77.7"}, "10.244.2.0/25")
	l.createNode(t, "node-f", annotation(t, peerFacts("192.168.77.8", vmac("192.168.77.8"), capable)), []string{"192.168.77.8"}, "192.168.77.0/24")
	l.createNode(t, "node-h", annotation(t, peerFacts("224.0.0.9", vmac("224.0.0.9"), capable)), []string{"192.168.77.9"}, "10.244.9.0/24")
	for node, reason := range map[string]string{
		"node-d": "malformed offload-overlay.io/node annotation",
		"node-e": "overlaps 10.244.2.0/24 of node node-b",
		"node-f": "outside the cluster CIDRs",
		"node-h": "not a unicast address",
	} {
		waitFor(t, 10*time.Second, node+" ignored", func() (bool, string) {
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "ignoring node") && strings.Contains(line, "peer="+node) && strings.Contains(line, reason) {
					return true, line
				}
			}
			return false, "no log line"
		})
	}
	r4 := l.routes("-4")
	for _, bad := range []string{"10.244.4.0", "10.244.2.0/25", "192.168.77.0/24", "10.244.9.0"} {
		if strings.Contains(r4, bad) {
			t.Errorf("ignored peer got a route %s:\n%s", bad, r4)
		}
	}

	t.Log("someone removes node-a's annotation: the agent publishes it again")
	l.patchNode(t, "node-a", map[string]any{"metadata": map[string]any{"annotations": map[string]any{nodeinfo.AnnotationKey: nil}}})
	waitFor(t, 10*time.Second, "annotation republished", func() (bool, string) {
		f := l.facts(t, "node-a")
		return len(f.Endpoints) == 2 && f.NativeProbe["node-c"], fmt.Sprintf("%+v", f)
	})

	t.Log("peer update: node-b moves to a new IP; the route follows")
	l.setAddresses(t, "node-b", "192.168.77.15", "fd77::5") // the kubelet lists it first
	l.setAnnotation(t, "node-b", annotation(t, nodeinfo.Facts{Version: nodeinfo.FactsVersion, UplinkMTU: 1500, Encaps: []string{"vxlan"},
		Endpoints: []nodeinfo.Endpoint{{IP: "192.168.77.15", VTEPMAC: vmac("192.168.77.15")}, {IP: "fd77::5", VTEPMAC: vmac("fd77::5")}}}))
	waitRoute(t, l, "-4", "10.244.2.0/24 via 192.168.77.15 dev a0", true)

	t.Log("VXLAN peer deleted: its route, FDB entry and neighbour go")
	l.createNode(t, "node-g", annotation(t, peerFacts("192.168.88.7", vmac("192.168.88.7"), capable)), []string{"192.168.88.7"}, "10.244.7.0/24")
	waitRoute(t, l, "-4", "10.244.7.0/24 via 10.244.7.0 dev oo-vxlan4", true)
	if err := l.admin.CoreV1().Nodes().Delete(context.Background(), "node-g", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, l, "-4", "10.244.7.0/24", false)
	if fdb := output("bridge", "-n", l.a, "fdb", "show", "dev", "oo-vxlan4"); strings.Contains(fdb, vmac("192.168.88.7")) {
		t.Errorf("FDB entry of deleted node-g left:\n%s", fdb)
	}
	if neigh := output("ip", "-n", l.a, "neigh", "show", "dev", "oo-vxlan4"); strings.Contains(neigh, "10.244.7.0") {
		t.Errorf("neighbour of deleted node-g left:\n%s", neigh)
	}

	t.Log("metrics")
	rec := httptest.NewRecorder()
	first.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics := rec.Body.String()
	for _, want := range []string{`offload_overlay_peer_paths{mode="native"} 3`, "offload_overlay_ignored_peers 4",
		"offload_overlay_ready 1", "offload_overlay_converge_duration_seconds_bucket", `offload_overlay_native_probes_total{result="ok"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	rec = httptest.NewRecorder()
	first.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz: %d %s", rec.Code, rec.Body)
	}

	t.Log("the agent wrote only its own Node (and Events)")
	for _, w := range writes.list() {
		if !strings.HasPrefix(w, "PATCH /api/v1/nodes/node-a") && !strings.Contains(w, "/events") {
			t.Errorf("agent wrote %s", w)
		}
	}
	if len(writes.list()) == 0 {
		t.Errorf("no write recorded")
	}

	t.Log("stopping the agent leaves the datapath and the state file")
	before := l.routes("-4")
	stop()
	if after := l.routes("-4"); after != before {
		t.Errorf("routes changed on stop:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if s, err := state.Read(stateDir); err != nil || !s.Ready {
		t.Errorf("state after stop: %+v %v", s, err)
	}

	t.Log("a restarted agent adopts the datapath: no route, neighbour or FDB change")
	mon := exec.Command("ip", "-n", l.a, "monitor", "route", "neigh")
	monOut := &syncBuffer{}
	mon.Stdout, mon.Stderr = monOut, monOut
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	a2 := startAgent(t, nodeClient, cfg, nsA, linux.IPTablesMasq{}, log, true)
	waitFor(t, 15*time.Second, "restarted agent ready", func() (bool, string) {
		if s, err := state.Read(stateDir); err != nil || !s.Ready {
			t.Errorf("state file not ready during the restart: %+v %v", s, err)
		}
		return a2.Ready(), ""
	})
	time.Sleep(time.Second) // first probe round and resync
	a2.Stop()
	_ = mon.Process.Kill()
	_ = mon.Wait()
	for _, line := range strings.Split(monOut.String(), "\n") {
		if strings.Contains(line, "10.244.") || strings.Contains(line, "fd00:10:244") || strings.Contains(line, "lladdr 02:00") {
			if !strings.Contains(line, "proto 80") { // the probe's temporary /32
				t.Errorf("restart changed the datapath: %s", line)
			}
		}
	}
	if after := l.routes("-4"); after != before {
		t.Errorf("routes changed across restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	t.Log("cleanup removes everything")
	if err := linux.CleanupNode(kernel, stateDir); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	if r := l.routes("-4") + l.routes("-6"); strings.TrimSpace(r) != "" {
		t.Errorf("routes left after cleanup:\n%s", r)
	}
	if links := output("ip", "-n", l.a, "-o", "link", "show"); strings.Contains(links, "oo-") {
		t.Errorf("devices left after cleanup:\n%s", links)
	}
	if lo := output("ip", "-n", l.a, "addr", "show", "dev", "lo"); strings.Contains(lo, "10.244.1.1") {
		t.Errorf("probe address left on lo:\n%s", lo)
	}
	if nat := output("ip", "netns", "exec", l.a, "iptables", "-t", "nat", "-S"); strings.Contains(nat, "OO-MASQ") {
		t.Errorf("masquerade chain left:\n%s", nat)
	}
	if _, err := os.Stat(state.Path(stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file left: %v", err)
	}
	if _, err := os.Stat(peerstate.PathIn(stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("peers file left: %v", err)
	}
}

// checkPeersFile: the peers file (doctor's view of the agent) records the
// modes the kernel has: node-b on-link native per family (rule 1), node-c
// native through the router because both probes succeeded (rule 2), with
// those inputs, and recomputing each pair from it gives the same mode.
func checkPeersFile(t *testing.T, stateDir string, l *lab) {
	t.Helper()
	var f *peerstate.File
	waitFor(t, 10*time.Second, "peers file with node-c native", func() (bool, string) {
		var err error
		f, err = peerstate.Read(stateDir)
		return err == nil && len(f.Peers) == 2 && f.Peers[1].Mode == decision.ModeNative, fmt.Sprintf("%+v %v", f, err)
	})
	b, c := f.Peers[0], f.Peers[1]
	if b.Name != "node-b" || len(b.Paths) != 2 || b.Paths[0].NodeIP != "192.168.77.5" || b.Paths[1].NodeIP != "fd77::5" ||
		!b.Paths[0].OnLink || b.Paths[0].Rule != 1 || b.Paths[1].Mode != decision.ModeNative {
		t.Errorf("node-b in the peers file: %+v", b)
	}
	if c.Name != "node-c" || len(c.Paths) != 1 || c.Paths[0].OnLink || c.Rule != 2 || c.MTU != 1500 ||
		!c.Local.NativeProbeOK || !c.Peer.NativeProbeOK || c.PodCIDRs[0] != "10.244.3.0/24" {
		t.Errorf("node-c in the peers file: %+v", c)
	}
	if r := l.routes("-4"); !strings.Contains(r, "10.244.3.0/24 via 192.168.77.2") || !strings.Contains(r, "10.244.2.0/24 via 192.168.77.5") {
		t.Errorf("kernel routes disagree with the peers file:\n%s", r)
	}
	for _, p := range f.Peers {
		for _, pa := range p.Paths {
			if got := decision.Decide(f.Config, p.Input(pa)); got.Mode != pa.Mode || got.Rule != pa.Rule {
				t.Errorf("%s %s: recomputed %s rule %d, recorded %s rule %d", p.Name, pa.NodeIP, got.Mode, got.Rule, pa.Mode, pa.Rule)
			}
		}
	}
}

const agentUser = "system:serviceaccount:offload-overlay:offload-overlay"

// writeLog records every non-read request the agent's client sends.
type writeLog struct {
	mu sync.Mutex
	w  []string
}

func (l *writeLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodGet {
			l.mu.Lock()
			l.w = append(l.w, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
		}
		return rt.RoundTrip(r)
	})
}

func (l *writeLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.w...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// grantAgentRBAC applies the DaemonSet's RBAC (ClusterRole, Role and
// their bindings) from the shipped manifest, nothing more. The admission
// policy is not applied: these tests authenticate the agent with a static
// token, which carries no node name (e2e/policy tests the policy).
func grantAgentRBAC(t *testing.T, env *k8senv.Env) {
	t.Helper()
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Objects(manifest.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(context.Background(), dc, objs, "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"); err != nil {
		t.Fatal(err)
	}
}

func (l *lab) facts(t *testing.T, name string) nodeinfo.Facts {
	t.Helper()
	n, err := l.admin.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var f nodeinfo.Facts
	if raw, ok := n.Annotations[nodeinfo.AnnotationKey]; ok {
		if err := json.Unmarshal([]byte(raw), &f); err != nil {
			t.Fatalf("node %s annotation: %v", name, err)
		}
	}
	return f
}

// testWriter sends log lines to t.Log (shown on failure or with -v).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
