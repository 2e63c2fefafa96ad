package lab

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/internal/testenv/k8senv"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/masq"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// e2ePrefix and e2eSite keep the e2e lab apart from the demo's (ool-, 28).
const (
	e2ePrefix = "ooe-"
	e2eSite   = 26
)

// upAgentLab brings up a lab with the real agent, or skips when the
// Kubernetes binaries are missing (fails in CI, see k8senv.Required).
func upAgentLab(t *testing.T, variant int, podRoutes bool, agentArgs ...string) *Lab {
	t.Helper()
	spec, err := topo.VariantSpec(variant, podRoutes)
	if err != nil {
		t.Fatal(err)
	}
	return upAgentLabSpec(t, spec, agentArgs...)
}

func upAgentLabSpec(t *testing.T, spec topo.Spec, agentArgs ...string) *Lab {
	t.Helper()
	requireRoot(t)
	k8senv.RequireBinaries(t, "kube-apiserver")
	spec.Prefix, spec.Site = e2ePrefix, e2eSite
	TB = t
	t.Cleanup(func() { TB = nil })
	l, err := Up(context.Background(), Config{Spec: spec, AgentArgs: agentArgs, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return l
}

// expectedMode is the mode the lab predicts between two nodes of a variant.
func expectedMode(variant int, podRoutes, flag bool, a, b *Node) string {
	switch {
	case variant == 3 && flag:
		return "native" // the operator says the underlay routes pod CIDRs
	case variant == 3 && podRoutes:
		return "native" // native because both agents' probes succeed
	case a.Segment == b.Segment:
		return "native"
	case a.Segment == topo.SegX || b.Segment == topo.SegX:
		// off-link with a tunnel underlay that carries pod CIDRs: no second level
		return "native"
	}
	return "vxlan"
}

// TestE2EVariants: on every variant, pods reach every other pod (ICMP and
// TCP, IPv4 and IPv6); the mode of every pair is the predicted one, the same
// from both ends and the same in doctor and in the kernel; full-size TCP and
// a DF ping at the pod MTU pass in every mode; pods reach the internet
// namespace masqueraded as their node.
func TestE2EVariants(t *testing.T) {
	for _, tc := range []struct {
		variant         int
		podRoutes, flag bool
	}{{1, false, false}, {2, false, false}, {3, false, false}, {3, true, false}, {3, true, true}, {4, false, false}, {5, false, false}} {
		name := fmt.Sprintf("variant%d", tc.variant)
		var args []string
		if tc.podRoutes {
			name += "-podroutes"
		}
		if tc.flag {
			name += "-flag"
			args = append(args, "--underlay-routes-pod-cidrs")
		}
		t.Run(name, func(t *testing.T) {
			l := upAgentLab(t, tc.variant, tc.podRoutes, args...)
			start := time.Now()
			checkModes(t, l, tc.variant, tc.podRoutes, tc.flag)
			checkReachability(t, l)
			checkPMTU(t, l)
			checkMasquerade(t, l)
			t.Logf("checks took %.1fs", time.Since(start).Seconds())
		})
	}
}

// checkModes compares, for every ordered pair of nodes, the datapath in
// node a's kernel with the lab's prediction, and doctor's mode with it:
// doctor reads the agent's peers file (the peer's published facts, both
// native probe results), so it must know every pair from the agent's state.
func checkModes(t *testing.T, l *Lab, variant int, podRoutes, flag bool) {
	t.Helper()
	ctx := context.Background()
	// The native probe may need a moment after the agents are ready.
	deadline := time.Now().Add(20 * time.Second)
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a == b {
				continue
			}
			want := expectedMode(variant, podRoutes, flag, a, b)
			pb := l.PodsOn(b.Name)[0]
			got, dev, err := l.KernelMode(a, pb.IP())
			for err == nil && got != want && time.Now().Before(deadline) {
				time.Sleep(500 * time.Millisecond)
				got, dev, err = l.KernelMode(a, pb.IP())
			}
			if err != nil || got != want {
				t.Errorf("%s -> %s: kernel sends via %s (%s), want %s (%v)\n%s", a.Name, b.Name, dev, got, want, err, l.AgentLog(a, 15))
			}
			r, err := doctorAgrees(ctx, l, a, b, want)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Decision.Mode) != want || r.Decision.Source != doctor.SourceAgentState {
				t.Errorf("%s -> %s: doctor says %s (rule %d, from %q), want %s from %q: %v",
					a.Name, b.Name, r.Decision.Mode, r.Decision.Rule, r.Decision.Source, want, doctor.SourceAgentState, r.Decision.Reasons)
			}
		}
	}
}

// doctorAgrees runs doctor on a for peer b until it decides want from the
// agent's peers file, for up to 10 s (the agent writes the file right after
// programming the kernel), and returns its last report.
func doctorAgrees(ctx context.Context, l *Lab, a, b *Node, want string) (*doctor.Report, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := l.Doctor(ctx, a, b)
		if err != nil {
			return nil, err
		}
		ok := string(r.Decision.Mode) == want && r.Decision.Source == doctor.SourceAgentState
		if ok || time.Now().After(deadline) {
			return r, nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func checkReachability(t *testing.T, l *Lab) {
	t.Helper()
	const port = 8080
	for _, p := range l.Pods {
		s, err := ServeTCP(p.Netns, port, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
	}
	ctx := context.Background()
	for _, a := range l.Pods {
		for _, b := range l.Pods {
			if a == b {
				continue
			}
			for _, ip := range b.IPs() {
				if err := Ping(a.Netns, ip, 0); err != nil {
					t.Errorf("ICMP %s -> %s: %v", a.Netns, ip, err)
				}
				if err := DialTCP(ctx, a.Netns, ip, port, 2, 5*time.Second); err != nil {
					t.Errorf("TCP: %v", err)
				}
			}
		}
	}
}

// checkPMTU: for the first pod of every pair of nodes, a 4 MB TCP transfer
// each way and a DF ping filling the pod MTU, IPv4 and IPv6.
func checkPMTU(t *testing.T, l *Lab) {
	t.Helper()
	const port, size = 8081, 4 << 20
	ctx := context.Background()
	for _, n := range l.Nodes {
		p := l.PodsOn(n.Name)[0]
		s, err := ServeTCP(p.Netns, port, size)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
	}
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a == b {
				continue
			}
			pa, pb := l.PodsOn(a.Name)[0], l.PodsOn(b.Name)[0]
			// the smaller pod MTU of the two ends: a receiver's veth bounds the path
			mtu, err := PodMTU(pa)
			if err != nil {
				t.Fatal(err)
			}
			if mb, err := PodMTU(pb); err == nil && mb < mtu {
				mtu = mb
			}
			for _, c := range []struct {
				ip  string
				hdr int // IP + ICMP header bytes
			}{{pb.IPv4, 28}, {pb.IPv6, 48}} {
				if c.ip == "" {
					continue
				}
				if err := DialTCP(ctx, pa.Netns, c.ip, port, size, 20*time.Second); err != nil {
					t.Errorf("full-size TCP: %v", err)
				}
				if err := Ping(pa.Netns, c.ip, mtu-c.hdr); err != nil {
					t.Errorf("DF ping at pod MTU %d: %v", mtu, err)
				}
			}
		}
	}
}

// checkMasquerade: every node's first pod reaches the internet namespace
// over IPv4 and IPv6, seen there with its node's address.
func checkMasquerade(t *testing.T, l *Lab) {
	t.Helper()
	s, err := ServeTCP(l.Topo.Internet, 8082, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for _, n := range l.Nodes {
		p := l.PodsOn(n.Name)[0]
		for _, ip := range l.Topo.InternetIPs {
			before := len(s.Peers())
			if err := DialTCP(ctx, p.Netns, ip, 8082, 2, 5*time.Second); err != nil {
				t.Errorf("pod to internet: %v", err)
				continue
			}
			peers := s.Peers()
			want := n.IPv4
			if net.ParseIP(ip).To4() == nil {
				want = n.IPv6
			}
			if len(peers) <= before || !net.ParseIP(peers[before]).Equal(net.ParseIP(want)) {
				t.Errorf("%s -> internet %s: seen from %v, want the node IP %s (masquerade)", p.Netns, ip, peers[before:], want)
			}
		}
	}
}

// TestE2EBigTCP: on uplinks with BIG TCP sizes and only native peers, the
// agent publishes BIG TCP sizes and the plugin applies them to both ends of
// every pod veth; a stream then crosses the uplink in >64 KB packets.
func TestE2EBigTCP(t *testing.T) {
	spec, _ := topo.VariantSpec(1, false)
	spec.BigTCP = true
	l := upAgentLabSpec(t, spec)
	for _, n := range l.Nodes {
		st, err := state.Read(n.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.GSOMaxSize <= 65536 || st.GROMaxSize <= 65536 {
			t.Errorf("%s: state file gso/gro %d/%d, want BIG TCP sizes", n.Name, st.GSOMaxSize, st.GROMaxSize)
		}
		for _, p := range l.PodsOn(n.Name) {
			h, err := topo.Handle(p.Netns)
			if err != nil {
				t.Fatal(err)
			}
			eth0, err := h.LinkByName("eth0")
			h.Close()
			if err != nil {
				t.Fatal(err)
			}
			if a := eth0.Attrs(); int(a.GSOMaxSize) != st.GSOMaxSize || int(a.GSOIPv4MaxSize) != st.GSOMaxSize {
				t.Errorf("%s eth0: gso_max_size %d gso_ipv4_max_size %d, want %d", p.Netns, a.GSOMaxSize, a.GSOIPv4MaxSize, st.GSOMaxSize)
			}
		}
	}
	if err := l.Tune(); err != nil {
		t.Fatal(err)
	}
	pa, pb := l.PodsOn("n1")[0], l.PodsOn("n2")[0]
	s, err := l.PodToPod(context.Background(), pa, pb, perf.Options{Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pod to pod with BIG TCP: %.1f Gbit/s, %s per packet on the uplink", s.Gbps, perf.FormatSize(s.Sizes["uplink"]))
	if s.Sizes["uplink"] <= 65536 {
		t.Errorf("uplink packets average %.0f bytes: BIG TCP packets did not reach the uplink", s.Sizes["uplink"])
	}
}

// TestE2EAgentRestart restarts both agents during an iperf3 stream between
// pods on two nodes (VXLAN, the stateful datapath): the stream survives.
func TestE2EAgentRestart(t *testing.T) {
	l := upAgentLab(t, 2, false)
	if err := l.Tune(); err != nil {
		t.Fatal(err)
	}
	pa, pb := l.PodsOn("n1")[0], l.PodsOn("n2")[0]
	done := make(chan error, 1)
	var res perf.Result
	go func() {
		var err error
		res, err = perf.Iperf(context.Background(), pa.Netns, pb.Netns, pb.IPv4, perf.Options{Duration: 8 * time.Second, Port: 5202})
		done <- err
	}()
	time.Sleep(2 * time.Second)
	for _, n := range l.Nodes {
		if err := l.RestartAgent(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.waitReady(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("iperf3 across the agent restart: %v", err)
	}
	t.Logf("stream survived both agents restarting: %.1f Gbit/s, %d retransmits", res.Gbps, res.Retransmits)
}

// TestE2ENodeRemoval deletes a Node (and its namespace): its routes, FDB
// entries and neighbours vanish from the other nodes within seconds.
func TestE2ENodeRemoval(t *testing.T) {
	l := upAgentLab(t, 5, false)
	gone := l.NodeByName("n2")
	ctx := context.Background()
	start := time.Now()
	if err := l.RemoveNode(ctx, gone.Name); err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes {
		if n == gone {
			continue
		}
		var left []string
		for time.Since(start) < 15*time.Second {
			left = leftFor(t, n, gone)
			if len(left) == 0 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Errorf("%s still has, %.0fs after %s was deleted: %v", n.Name, time.Since(start).Seconds(), gone.Name, left)
		}
	}
	t.Logf("peer state of %s gone from every node after %.1fs", gone.Name, time.Since(start).Seconds())
}

// leftFor lists what node n still has about peer: routes to its pod CIDRs,
// FDB entries and neighbours naming its node IPs.
func leftFor(t *testing.T, n, peer *Node) []string {
	t.Helper()
	h, err := topo.Handle(n.Netns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var left []string
	for _, c := range peer.PodCIDRs {
		rs, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Dst: prefixNet(c), Table: 0}, netlink.RT_FILTER_DST)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			left = append(left, "route "+r.String())
		}
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6, 7 /* AF_BRIDGE */} {
		ns, err := h.NeighList(0, fam)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ns {
			if e.IP.Equal(net.ParseIP(peer.IPv4)) || e.IP.Equal(net.ParseIP(peer.IPv6)) {
				if fam != 7 && e.LinkIndex != 0 && isUplink(h, e.LinkIndex, n) {
					continue // ARP/ND on the underlay itself is the kernel's
				}
				left = append(left, fmt.Sprintf("neigh/fdb %s %s", e.IP, e.HardwareAddr))
			}
		}
	}
	return left
}

func isUplink(h *netlink.Handle, idx int, n *Node) bool {
	l, err := h.LinkByIndex(idx)
	return err == nil && l.Attrs().Name == n.Uplink
}

// TestE2ETeardown: after Down, no namespace, host link, host route or rule,
// process or run directory of the lab is left.
func TestE2ETeardown(t *testing.T) {
	requireRoot(t)
	k8senv.RequireBinaries(t, "kube-apiserver")
	rulesBefore := hostOut(t, "ip", "rule")
	spec, _ := topo.VariantSpec(5, false)
	spec.Prefix, spec.Site = e2ePrefix, e2eSite
	TB = t
	defer func() { TB = nil }()
	l, err := Up(context.Background(), Config{Spec: spec, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	l.HoldLock = true // nobody else starts a lab of this prefix before the checks
	defer l.Unlock()
	var dirs []string
	for _, n := range l.Nodes {
		dirs = append(dirs, n.Dir)
		if nat, _ := topo.Exec(n.Netns, "iptables", "-t", "nat", "-S"); !strings.Contains(nat, masq.Chain) {
			t.Errorf("%s: no %s chain while the lab runs:\n%s", n.Name, masq.Chain, nat)
		}
	}
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	if left, err := topo.Leftovers(e2ePrefix); err != nil || len(left) > 0 {
		t.Errorf("left after Down: %v %v", left, err)
	}
	site := fmt.Sprintf("172.%d.", e2eSite)
	if routes := hostOut(t, "ip", "route"); strings.Contains(routes, site) {
		t.Errorf("host routes mention the lab:\n%s", routes)
	}
	for _, ipt := range []string{"iptables", "ip6tables"} {
		if nat := hostOut(t, ipt, "-t", "nat", "-S"); strings.Contains(nat, masq.Chain) {
			t.Errorf("host %s has the agent's %s chain", ipt, masq.Chain)
		}
	}
	if rules := hostOut(t, "ip", "rule"); rules != rulesBefore {
		t.Errorf("host rules changed:\n%s\nwas:\n%s", rules, rulesBefore)
	}
	for _, d := range append(dirs, l.RunDir) {
		if out := hostOut(t, "pgrep", "-f", d); out != "" {
			t.Errorf("processes still use %s: %s", d, out)
		}
		if out := hostOut(t, "ls", "-d", d); out != "" {
			t.Errorf("%s still exists", d)
		}
	}
}

// hostOut runs a command in the host namespace and returns its output ("" on
// a non-zero exit, e.g. pgrep finding nothing).
func hostOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
