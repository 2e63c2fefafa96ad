package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// TestE2EBGP: variant 3 (two subnets behind the router, uplinks without
// tunnel segmentation) with BIRD as the top-of-rack router and BGP in the
// agents. The router learns every pod CIDR; the agents go native ("announced
// over BGP, probe verified"); pods reach each other at full MTU and
// super-packets cross the uplink whole. A session the router shuts turns
// the pairs back to VXLAN with connectivity kept, and native again when it
// returns. An agent restart with graceful restart keeps the router's routes
// and an iperf3 stream.
func TestE2EBGP(t *testing.T) {
	spec, _ := topo.VariantSpec(3, false)
	l := upAgentLabConfig(t, Config{Spec: spec, BGP: &BGP{GracefulRestart: true}, AgentArgs: []string{"--probe-period", "10s"}})
	ctx := context.Background()
	t.Logf("time to native from agent start: %.1fs", l.TimeToNative.Seconds())
	checkRouterLearnt(t, l)
	waitModes(t, l, "native", "announced over BGP, probe verified")
	for _, p := range l.Pods {
		if mtu, err := PodMTU(p); err != nil || mtu != 1500 {
			t.Errorf("%s: pod MTU %d (%v), want the full uplink MTU 1500 (every path native)", p.Name, mtu, err)
		}
	}
	checkReachability(t, l)
	checkPMTU(t, l)
	if err := l.Tune(); err != nil {
		t.Fatal(err)
	}
	n1, n2 := l.NodeByName("n1"), l.NodeByName("n2")
	pa, pb := l.PodsOn("n1")[0], l.PodsOn("n2")[0]
	s, err := l.PodToPod(ctx, pa, pb, perf.Options{Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("native over BGP: %.1f Gbit/s, %s per packet on the uplink", s.Gbps, perf.FormatSize(s.Sizes["uplink"]))
	if s.Sizes["uplink"] < 8000 {
		t.Errorf("uplink packets average %.0f bytes: super-packets were cut before the uplink", s.Sizes["uplink"])
	}

	t.Run("session down and back", func(t *testing.T) {
		srv, err := ServeTCP(pb.Netns, 8090, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		if err := l.Router().Disable(ctx, RouterProtocol(n1)); err != nil {
			t.Fatal(err)
		}
		waitModes(t, l, "vxlan", "")
		if err := DialTCP(ctx, pa.Netns, pb.IPv4, 8090, 2, 5*time.Second); err != nil {
			t.Errorf("pods after the session went down: %v", err)
		}
		checkEvent(t, l, n1.Name, "BGPSessionDown")
		if err := l.Router().Enable(ctx, RouterProtocol(n1)); err != nil {
			t.Fatal(err)
		}
		waitModes(t, l, "native", "announced over BGP, probe verified")
		if err := DialTCP(ctx, pa.Netns, pb.IPv4, 8090, 2, 5*time.Second); err != nil {
			t.Errorf("pods after the session came back: %v", err)
		}
	})

	t.Run("agent restart keeps routes", func(t *testing.T) {
		var missing atomic.Int32
		stop := make(chan struct{})
		polled := make(chan struct{})
		go func() {
			defer close(polled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				routes, err := l.Router().KernelRoutes(ctx)
				if err == nil && routes[n1.PodCIDRs[0]] != netip.MustParseAddr(n1.IPv4) {
					missing.Add(1)
				}
			}
		}()
		done := make(chan error, 1)
		var res perf.Result
		go func() {
			var err error
			res, err = perf.Iperf(ctx, pa.Netns, pb.Netns, pb.IPv4, perf.Options{Duration: 8 * time.Second, Port: 5203})
			done <- err
		}()
		time.Sleep(2 * time.Second)
		if err := l.RestartAgent(n1); err != nil {
			t.Fatal(err)
		}
		if err := l.waitReady(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("iperf3 across the agent restart: %v", err)
		}
		waitModes(t, l, "native", "announced over BGP, probe verified")
		close(stop)
		<-polled
		if n := missing.Load(); n > 0 {
			t.Errorf("the router's kernel lost %s during the agent restart (%d polls): graceful restart did not hold", n1.PodCIDRs[0], n)
		}
		t.Logf("stream across the agent restart: %.1f Gbit/s, %d retransmits; router route kept", res.Gbps, res.Retransmits)
	})
	_ = n2
}

// checkRouterLearnt: BIRD holds every node's pod CIDRs (both families) from
// that node's session with its node IP as next hop, and installed them in
// the router's kernel.
func checkRouterLearnt(t *testing.T, l *Lab) {
	t.Helper()
	ctx := context.Background()
	routes, err := l.Router().Routes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := l.Router().KernelRoutes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes {
		for _, c := range n.PodCIDRs {
			nh := netip.MustParseAddr(n.IPv4)
			if c.Addr().Is6() {
				nh = netip.MustParseAddr(n.IPv6)
			}
			found := false
			for _, r := range routes {
				found = found || (r.Prefix == c && r.Protocol == RouterProtocol(n) && r.NextHop == nh)
			}
			if !found {
				t.Errorf("birdc show route: no %s from %s via %s: %+v", c, RouterProtocol(n), nh, routes)
			}
			if kernel[c] != nh {
				t.Errorf("router kernel: %s via %s, want via %s", c, kernel[c], nh)
			}
		}
	}
}

// waitModes waits (up to 40 s: a probe period of 10 s plus the re-probes)
// until every pair's kernel route has mode want, then checks that doctor
// says so, with reason in its reasons when given.
func waitModes(t *testing.T, l *Lab, want, reason string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(40 * time.Second)
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a == b {
				continue
			}
			for _, ip := range l.PodsOn(b.Name)[0].IPs() {
				got, dev, err := l.KernelMode(a, ip)
				for err == nil && got != want && time.Now().Before(deadline) {
					time.Sleep(250 * time.Millisecond)
					got, dev, err = l.KernelMode(a, ip)
				}
				if err != nil || got != want {
					t.Fatalf("%s -> %s (%s): kernel sends via %s (%s), want %s (%v)\n%s", a.Name, b.Name, ip, dev, got, want, err, l.AgentLog(a, 15))
				}
			}
			r, err := doctorAgrees(ctx, l, a, b, want)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(r.Decision.Reasons, "\n")
			if string(r.Decision.Mode) != want || (reason != "" && !strings.Contains(all, reason)) {
				t.Errorf("%s -> %s: doctor says %s: %s; want %s with %q", a.Name, b.Name, r.Decision.Mode, all, want, reason)
			}
			if r.BGP == nil || len(r.BGP.Sessions) != 1 {
				t.Errorf("%s: doctor shows no BGP session: %+v", a.Name, r.BGP)
			}
		}
	}
}

// checkEvent: an Event with reason on the Node called node.
func checkEvent(t *testing.T, l *Lab, node, reason string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		evs, err := l.api.Client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{
			FieldSelector: fmt.Sprintf("involvedObject.name=%s,reason=%s", node, reason)})
		if err == nil && len(evs.Items) > 0 {
			t.Logf("Event %s on %s: %s", reason, node, evs.Items[0].Message)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("no %s Event on Node %s (%v)", reason, node, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestE2EBGPMixedRacks: racks a and b announce over BGP, rack c has none
// (Node label offload-overlay.io/bgp-as=0). Pairs decide per pair: a-b
// native over BGP, anything with c one VXLAN level; everyone reaches
// everyone.
func TestE2EBGPMixedRacks(t *testing.T) {
	spec := topo.Spec{Internet: true, Nodes: []topo.NodeSpec{
		{Name: "n1", Segment: topo.SegA, NoTunnelOffload: true},
		{Name: "n2", Segment: topo.SegB, NoTunnelOffload: true},
		{Name: "n3", Segment: topo.SegC, NoTunnelOffload: true}}}
	l := upAgentLabConfig(t, Config{Spec: spec, BGP: &BGP{Nodes: []string{"n1", "n2"}}})
	ctx := context.Background()
	for _, c := range []struct {
		a, b, want, reason string
	}{
		{"n1", "n2", "native", "announced over BGP, probe verified"},
		{"n2", "n1", "native", "announced over BGP, probe verified"},
		{"n1", "n3", "vxlan", ""}, {"n3", "n1", "vxlan", ""},
		{"n2", "n3", "vxlan", ""}, {"n3", "n2", "vxlan", ""},
	} {
		a, b := l.NodeByName(c.a), l.NodeByName(c.b)
		got, _, err := l.KernelMode(a, l.PodsOn(b.Name)[0].IPv4)
		if err != nil || got != c.want {
			t.Errorf("%s -> %s: kernel %s (%v), want %s", c.a, c.b, got, err, c.want)
		}
		r, err := doctorAgrees(ctx, l, a, b, c.want)
		if err != nil {
			t.Fatal(err)
		}
		if all := strings.Join(r.Decision.Reasons, "\n"); string(r.Decision.Mode) != c.want || !strings.Contains(all, c.reason) {
			t.Errorf("%s -> %s: doctor %s: %s; want %s with %q", c.a, c.b, r.Decision.Mode, all, c.want, c.reason)
		}
	}
	if r, err := l.Doctor(ctx, l.NodeByName("n3"), nil); err != nil || r.BGP != nil {
		t.Errorf("n3 (bgp-as=0): doctor shows BGP %+v (%v), want none", r.BGP, err)
	}
	checkReachability(t, l)
}
