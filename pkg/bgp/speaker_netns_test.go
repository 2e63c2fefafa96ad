package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/offload-overlay/offload-overlay/internal/testenv/bgprouter"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

const nodeAS = 64512

func (n fabricNode) spec(gr, importLearnt bool) childSpec {
	return childSpec{
		Config: bgpconfig.Config{
			AS: n.as, Peers: []bgpconfig.Peer{{Address: n.routerIPv4, AS: fabricAS}}, Password: n.password,
			HoldTime: 9 * time.Second, GracefulRestart: gr, RestartTime: bgpconfig.DefaultRestartTime, Import: importLearnt,
		},
		NodeIPs:  []netip.Addr{n.ip4, n.ip6},
		Announce: bgptypes.Announcement{PodCIDRs: []netip.Prefix{n.podCIDR4, n.podCIDR6}, NextHop4: n.ip4, NextHop6: n.ip6},
	}
}

// BIRD learns both pod CIDRs of every node with the node IP of the family
// as next hop and installs them in the router's kernel; a changed pod CIDR
// replaces the old one; Close withdraws them.
func TestAnnounceToBIRD(t *testing.T) {
	f := newFabric(t, []uint32{nodeAS, nodeAS}, []string{"md5-secret", ""})
	var sp []*speakerProc
	for _, n := range f.nodes {
		sp = append(sp, startSpeaker(t, n.netns, n.spec(false, false)))
	}
	for i, n := range f.nodes {
		waitEstablished(t, sp[i], true)
		f.waitKernel(t, n.podCIDR4, n.ip4, true)
		f.waitKernel(t, n.podCIDR6, n.ip6, true)
	}
	routes, err := f.router.Routes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.nodes {
		for _, want := range []struct {
			p  netip.Prefix
			nh netip.Addr
		}{{n.podCIDR4, n.ip4}, {n.podCIDR6, n.ip6}} {
			if !hasRoute(routes, want.p, n.name, want.nh) {
				t.Errorf("birdc show route: no %s from %s via %s in %+v", want.p, n.name, want.nh, routes)
			}
		}
	}
	// Only our prefixes, each once: nothing else from either node.
	for _, r := range routes {
		if r.Protocol != "node1" && r.Protocol != "node2" {
			continue
		}
		n := f.nodes[0]
		if r.Protocol == "node2" {
			n = f.nodes[1]
		}
		if r.Prefix != n.podCIDR4 && r.Prefix != n.podCIDR6 {
			t.Errorf("router learnt %s from %s: not its pod CIDR", r.Prefix, r.Protocol)
		}
	}
	ss, err := sp[0].sessions()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].PrefixesSent != 2 || ss[0].Peer != f.nodes[0].routerIPv4 || ss[0].PeerAS != fabricAS || ss[0].Since.IsZero() {
		t.Errorf("sessions of node1: %+v, want one established with 2 prefixes sent to %s AS %d", ss, f.nodes[0].routerIPv4, fabricAS)
	}

	var text string
	if err := sp[0].call("metrics", &text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`offload_overlay_bgp_session_established{peer="10.201.1.1",peer_as="65000"} 1`,
		`offload_overlay_bgp_prefixes_sent{peer="10.201.1.1",peer_as="65000"} 2`,
		`offload_overlay_bgp_announced_prefixes 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s:\n%s", want, text)
		}
	}

	// A new pod CIDR replaces the old one.
	n := f.nodes[0]
	moved := netip.MustParsePrefix("10.244.101.0/24")
	a, _ := json.Marshal(bgptypes.Announcement{PodCIDRs: []netip.Prefix{moved, n.podCIDR6}, NextHop4: n.ip4, NextHop6: n.ip6})
	if err := sp[0].call("announce "+string(a), nil); err != nil {
		t.Fatal(err)
	}
	f.waitKernel(t, moved, n.ip4, true)
	f.waitKernel(t, n.podCIDR4, n.ip4, false)

	// Close says goodbye: the router withdraws at once, the other node stays.
	if err := sp[0].call("close", nil); err != nil {
		t.Fatal(err)
	}
	f.waitKernel(t, moved, n.ip4, false)
	f.waitKernel(t, n.podCIDR6, n.ip6, false)
	if has, _ := f.kernelHas(f.nodes[1].podCIDR4, f.nodes[1].ip4); !has {
		t.Errorf("node2's route went away with node1's session")
	}
}

func hasRoute(routes []bgprouterRoute, p netip.Prefix, proto string, nh netip.Addr) bool {
	for _, r := range routes {
		if r.Prefix == p && r.Protocol == proto && r.NextHop == nh {
			return true
		}
	}
	return false
}

// With graceful restart, an agent that exits and comes back never makes
// the router drop its routes: polled every 100 ms through the restart.
// Without it, the same exit withdraws them (the control case).
func TestGracefulRestartKeepsRoutes(t *testing.T) {
	f := newFabric(t, []uint32{nodeAS, nodeAS + 1}, nil)
	grNode, plainNode := f.nodes[0], f.nodes[1]
	gr := startSpeaker(t, grNode.netns, grNode.spec(true, false))
	plain := startSpeaker(t, plainNode.netns, plainNode.spec(false, false))
	f.waitKernel(t, grNode.podCIDR4, grNode.ip4, true)
	f.waitKernel(t, plainNode.podCIDR4, plainNode.ip4, true)
	waitEstablished(t, gr, true)
	eventually(t, 30*time.Second, "graceful restart negotiated, 2 prefixes sent (End-of-RIB markers not counted)", func() error {
		if ss, err := gr.sessions(); err != nil || len(ss) != 1 || !ss[0].GracefulRestart || ss[0].PrefixesSent != 2 {
			return fmt.Errorf("sessions %+v (%v)", ss, err)
		}
		return nil
	})

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
			if has, err := f.kernelHas(grNode.podCIDR4, grNode.ip4); err == nil && !has {
				missing.Add(1)
			}
		}
	}()
	gr.abandon()
	plain.abandon()
	// The router saw both sessions drop ...
	eventually(t, 30*time.Second, "BIRD notices both sessions down", func() error {
		st, err := f.router.Protocols(context.Background())
		if err != nil {
			return err
		}
		if st["node1"] == "Established" || st["node2"] == "Established" {
			return fmt.Errorf("protocols %v", st)
		}
		return nil
	})
	// ... withdrew the node without graceful restart ...
	f.waitKernel(t, plainNode.podCIDR4, plainNode.ip4, false)
	// ... and kept the other through its restart.
	gr2 := startSpeaker(t, grNode.netns, grNode.spec(true, false))
	waitEstablished(t, gr2, true)
	eventually(t, 30*time.Second, "node1's routes fresh again after End-of-RIB", func() error {
		routes, err := f.router.Routes(context.Background())
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Protocol == "node1" && r.Stale {
				return fmt.Errorf("still stale: %+v", r)
			}
		}
		if !hasRoute(routes, grNode.podCIDR4, "node1", grNode.ip4) {
			return fmt.Errorf("no route: %+v", routes)
		}
		return nil
	})
	close(stop)
	<-polled
	if n := missing.Load(); n > 0 {
		t.Errorf("router kernel lost %s during the graceful restart (%d polls)", grNode.podCIDR4, n)
	}
}

// A session the router takes down withdraws the node's routes; back up,
// they return.
func TestSessionDownWithdraws(t *testing.T) {
	f := newFabric(t, []uint32{nodeAS}, nil)
	n := f.nodes[0]
	sp := startSpeaker(t, n.netns, n.spec(true, false))
	f.waitKernel(t, n.podCIDR4, n.ip4, true)
	ctx := context.Background()
	if err := f.router.Disable(ctx, n.name); err != nil {
		t.Fatal(err)
	}
	f.waitKernel(t, n.podCIDR4, n.ip4, false)
	f.waitKernel(t, n.podCIDR6, n.ip6, false)
	waitEstablished(t, sp, false)
	if err := f.router.Enable(ctx, n.name); err != nil {
		t.Fatal(err)
	}
	waitEstablished(t, sp, true)
	f.waitKernel(t, n.podCIDR4, n.ip4, true)
}

// Import: off by default (nothing learnt); on, the other rack's pod CIDR
// arrives via the router, and the speaker still sends only its own two.
func TestImport(t *testing.T) {
	f := newFabric(t, []uint32{nodeAS, nodeAS + 1, nodeAS + 2}, nil)
	importer := startSpeaker(t, f.nodes[0].netns, f.nodes[0].spec(false, true))
	other := startSpeaker(t, f.nodes[1].netns, f.nodes[1].spec(false, false))
	quiet := startSpeaker(t, f.nodes[2].netns, f.nodes[2].spec(false, false))
	for _, n := range f.nodes {
		f.waitKernel(t, n.podCIDR4, n.ip4, true)
	}
	want := f.nodes[1].podCIDR4
	eventually(t, 30*time.Second, "node1 learns node2's pod CIDR", func() error {
		var routes []bgptypes.Route
		if err := importer.call("learnt", &routes); err != nil {
			return err
		}
		for _, r := range routes {
			if r.Prefix == want && r.NextHop == f.nodes[0].routerIPv4 {
				return nil
			}
		}
		return fmt.Errorf("learnt %+v", routes)
	})
	var none []bgptypes.Route
	if err := other.call("learnt", &none); err != nil || len(none) != 0 {
		t.Errorf("import off: learnt %+v (err %v), want nothing", none, err)
	}
	// OnLearnt tells the agent to sort the routes again: called with
	// import on, never without.
	eventually(t, 10*time.Second, "OnLearnt called on the importer", func() error {
		var events int64
		if err := importer.call("learnt-events", &events); err != nil || events == 0 {
			return fmt.Errorf("called %d times (err %v)", events, err)
		}
		return nil
	})
	var noEvents int64
	if err := other.call("learnt-events", &noEvents); err != nil || noEvents != 0 {
		t.Errorf("import off: OnLearnt called %d times (err %v), want never", noEvents, err)
	}
	for _, p := range []*speakerProc{importer, other, quiet} {
		ss, err := p.sessions()
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 1 || ss[0].PrefixesSent != 2 {
			t.Errorf("speaker in %s sends %+v, want exactly its 2 pod CIDRs", p.netns, ss)
		}
	}
	if r, _ := f.router.Routes(context.Background()); countFrom(r, "node1") != 2 {
		t.Errorf("router holds %d routes from node1, want 2: %+v", countFrom(r, "node1"), r)
	}
}

func countFrom(routes []bgprouterRoute, proto string) int {
	n := 0
	for _, r := range routes {
		if r.Protocol == proto {
			n++
		}
	}
	return n
}

type bgprouterRoute = bgprouter.Route
