package peers_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// node is one lab node with its converger.
type node struct {
	*dplab.Node
	h     *netlink.Handle
	links peers.Links
	conv  *peers.Converger
}

func setup(t *testing.T, l *dplab.Lab) []*node {
	t.Helper()
	var out []*node
	for _, n := range l.Nodes {
		links, err := n.EnsureOverlay(1)
		if err != nil {
			t.Fatal(err)
		}
		h, err := n.Handle()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		out = append(out, &node{Node: n, h: h, links: links, conv: peers.New(h, links)})
	}
	return out
}

// mixed: n1<->n3 native, every other pair VXLAN.
func mixed(a, b *dplab.Node) decision.Mode {
	if a.Index+b.Index == 4 {
		return decision.ModeNative
	}
	return decision.ModeVXLAN
}

func apply(t *testing.T, l *dplab.Lab, nodes []*node, mode func(a, b *dplab.Node) decision.Mode) int {
	t.Helper()
	writes := 0
	for _, n := range nodes {
		r, err := n.conv.Apply(l.PeersOf(n.Node, mode))
		if err != nil {
			t.Fatalf("%s: Apply: %v", n.Name, err)
		}
		if len(r.Skipped) > 0 {
			t.Fatalf("%s: skipped %v", n.Name, r.Skipped)
		}
		writes += r.Writes
	}
	return writes
}

func checkAllPairs(t *testing.T, l *dplab.Lab) {
	t.Helper()
	for _, a := range l.Nodes {
		for _, b := range l.Nodes {
			if a == b {
				continue
			}
			p, q := a.Pods[0], b.Pods[0]
			if err := p.Ping(q.IP4); err != nil {
				t.Errorf("ipv4 %s: %v", mixed(a, b), err)
			}
			if err := p.Ping(q.IP6); err != nil {
				t.Errorf("ipv6 %s: %v", mixed(a, b), err)
			}
			if err := p.TCPEcho(q, q.IP4, 256<<10); err != nil {
				t.Errorf("ipv4 %s: %v", mixed(a, b), err)
			}
			if err := p.TCPEcho(q, q.IP6, 256<<10); err != nil {
				t.Errorf("ipv6 %s: %v", mixed(a, b), err)
			}
		}
	}
}

// TestConvergeMixed: three nodes, VXLAN and native peers, both families;
// pod-to-pod ping and TCP across every pair; a second Apply and a fresh
// converger (agent restart) write nothing.
func TestConvergeMixed(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 3, PodsPerNode: 1})
	nodes := setup(t, l)
	if w := apply(t, l, nodes, mixed); w == 0 {
		t.Fatal("first Apply wrote nothing")
	}
	checkAllPairs(t, l)

	if w := apply(t, l, nodes, mixed); w != 0 {
		t.Errorf("second Apply: %d netlink writes, want 0", w)
	}
	for _, n := range nodes {
		n.conv = peers.New(n.h, n.links) // restart: adopt, do not flush
	}
	if w := apply(t, l, nodes, mixed); w != 0 {
		t.Errorf("Apply after restart: %d netlink writes, want 0", w)
	}
	// n1's kernel state: 2 peers x 2 families routes; one VXLAN peer
	// (n2): 1 FDB + 1 neighbour per family.
	got := dump(t, nodes[0])
	if got.routes != 4 || got.fdb != 2 || got.neigh != 2 {
		t.Errorf("n1 state %+v, want 4 routes, 2 fdb, 2 neigh", got)
	}
	checkAllPairs(t, l)
}

type counts struct{ routes, fdb, neigh int }

// dump counts our objects in a node's kernel, independently of the converger.
func dump(t *testing.T, n *node) counts {
	t.Helper()
	var c counts
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rs, err := n.h.RouteListFiltered(fam, &netlink.Route{Protocol: peers.RouteProtocol, Table: unix.RT_TABLE_UNSPEC},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			t.Fatal(err)
		}
		c.routes += len(rs)
	}
	for _, dev := range []int{n.links.VXLAN4, n.links.VXLAN6} {
		fdb, err := n.h.NeighList(dev, unix.AF_BRIDGE)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range fdb {
			if e.IP != nil {
				c.fdb++
			}
		}
		for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
			ns, err := n.h.NeighList(dev, fam)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ns {
				if e.State&netlink.NUD_PERMANENT != 0 {
					c.neigh++
				}
			}
		}
	}
	return c
}

// TestPeerChangeAndRemoval: switching one peer VXLAN -> native and back is a
// constant number of writes; removing it leaves no route, FDB or neighbour.
func TestPeerChangeAndRemoval(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1})
	nodes := setup(t, l)
	vx := func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN }
	apply(t, l, nodes, vx)
	n1, n2 := nodes[0], nodes[1]
	if c := dump(t, n1); c != (counts{2, 2, 2}) {
		t.Fatalf("after vxlan apply: %+v", c)
	}

	r, err := n1.conv.ApplyPeer(n2.AsPeer(decision.ModeNative))
	if err != nil {
		t.Fatal(err)
	}
	// per family: route replaced (IPv6: deleted and added, see moveRoute),
	// neighbour and FDB deleted.
	if r.Writes != 7 || r.Reads != 0 {
		t.Errorf("vxlan->native: %d writes %d reads, want 7 and 0", r.Writes, r.Reads)
	}
	if c := dump(t, n1); c != (counts{2, 0, 0}) {
		t.Errorf("after native: %+v", c)
	}
	if _, err := n2.conv.ApplyPeer(n1.AsPeer(decision.ModeNative)); err != nil {
		t.Fatal(err)
	}
	checkPing(t, l)

	r, err = n1.conv.RemovePeer(n2.Name)
	if err != nil {
		t.Fatal(err)
	}
	if r.Writes != 2 {
		t.Errorf("remove native peer: %d writes, want 2", r.Writes)
	}
	if _, err := n1.conv.ApplyPeer(n2.AsPeer(decision.ModeVXLAN)); err != nil {
		t.Fatal(err)
	}
	if r, _ = n1.conv.RemovePeer(n2.Name); r.Writes != 6 {
		t.Errorf("remove vxlan peer: %d writes, want 6", r.Writes)
	}
	if c := dump(t, n1); c != (counts{}) {
		t.Errorf("after removal: %+v, want nothing", c)
	}
	if r, _ = n1.conv.RemovePeer(n2.Name); r.Writes != 0 {
		t.Errorf("second removal wrote %d", r.Writes)
	}
}

func checkPing(t *testing.T, l *dplab.Lab) {
	t.Helper()
	p, q := l.Nodes[0].Pods[0], l.Nodes[1].Pods[0]
	if err := p.Ping(q.IP4); err != nil {
		t.Error(err)
	}
	if err := p.Ping(q.IP6); err != nil {
		t.Error(err)
	}
}

// TestResyncRepairsDrift: a route deleted and a neighbour changed by hand
// are restored by Resync, with one write each and nothing else touched.
func TestResyncRepairsDrift(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1})
	nodes := setup(t, l)
	apply(t, l, nodes, func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN })
	n1, n2 := nodes[0], nodes[1]
	if _, err := dplab.Exec(n1.Name, "ip", "route", "del", n2.PodCIDR4.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := dplab.Exec(n1.Name, "ip", "neigh", "replace", n2.PodCIDR6.Addr().String(),
		"lladdr", "02:00:00:00:00:99", "dev", overlay.DeviceName(overlay.KindVXLAN, 6), "nud", "permanent"); err != nil {
		t.Fatal(err)
	}
	// A foreign route (no proto 0x4f) must survive Resync.
	if _, err := dplab.Exec(n1.Name, "ip", "route", "add", "10.99.0.0/16", "via", n2.IP4.String()); err != nil {
		t.Fatal(err)
	}
	r, err := n1.conv.Resync()
	if err != nil {
		t.Fatal(err)
	}
	if r.Writes != 2 {
		t.Errorf("Resync wrote %d, want 2", r.Writes)
	}
	if out, _ := dplab.Exec(n1.Name, "ip", "route", "show", "10.99.0.0/16"); out == "" {
		t.Error("Resync removed a foreign route")
	}
	checkPing(t, l)
	if r, _ := n1.conv.Resync(); r.Writes != 0 {
		t.Errorf("second Resync wrote %d", r.Writes)
	}
}

// TestCleanupAll: Cleanup and TeardownAll leave no route, device, FDB or
// neighbour of ours.
func TestCleanupAll(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2})
	nodes := setup(t, l)
	apply(t, l, nodes, mixed)
	n1 := nodes[0]
	if err := peers.Cleanup(n1.h); err != nil {
		t.Fatal(err)
	}
	if err := overlay.TeardownAll(n1.h); err != nil {
		t.Fatal(err)
	}
	out, err := dplab.Exec(n1.Name, "sh", "-c", "ip route show proto 0x4f table all; ip -6 route show proto 0x4f table all; ip -o link show | grep -o 'oo-[a-z]*[46]' || true")
	if err != nil || out != "" {
		t.Errorf("left after cleanup: %q %v", out, err)
	}
	if err := peers.Cleanup(n1.h); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// TestRestartKeepsStream: an established TCP stream between pods over VXLAN
// survives discarding the converger and starting a new one (agent restart:
// the new process adopts the datapath instead of flushing it).
func TestRestartKeepsStream(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 2, PodsPerNode: 1})
	nodes := setup(t, l)
	vx := func(a, b *dplab.Node) decision.Mode { return decision.ModeVXLAN }
	apply(t, l, nodes, vx)
	p, q := l.Nodes[0].Pods[0], l.Nodes[1].Pods[0]

	ln, err := q.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		received <- n
	}()
	c, err := p.Dial(q.IP4, ln.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	sent := make(chan error, 1)
	var total int64
	go func() {
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				sent <- nil
				return
			default:
			}
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			n, err := c.Write(buf)
			total += int64(n)
			if err != nil {
				sent <- err
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)

	// Restart: drop the converger, re-ensure the devices, adopt, re-apply.
	for _, n := range nodes {
		links, err := n.EnsureOverlay(1)
		if err != nil {
			t.Fatal(err)
		}
		if links != n.links {
			t.Errorf("%s: devices recreated on restart: %+v vs %+v", n.Name, links, n.links)
		}
		n.conv = peers.New(n.h, links)
	}
	if w := apply(t, l, nodes, vx); w != 0 {
		t.Errorf("restart Apply wrote %d, want 0", w)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if err := <-sent; err != nil {
		t.Fatalf("stream broke across restart: %v", err)
	}
	c.Close()
	if got := <-received; got != total || got <= 0 {
		t.Errorf("received %d bytes, sent %d", got, total)
	}
	t.Logf("stream carried %d MiB across the restart", total>>20)
}

// TestNativeOffLinkNextHop: a native peer reached through an underlay next
// hop (here node 3 forwarding, standing in for a router) instead of on-link.
func TestNativeOffLinkNextHop(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 3, PodsPerNode: 1})
	nodes := setup(t, l)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	via := func(m, hop *dplab.Node) peers.Peer {
		p := m.AsPeer(decision.ModeNative)
		p.Endpoints[0].NextHop, p.Endpoints[1].NextHop = hop.IP4, hop.IP6
		return p
	}
	for _, tc := range []struct {
		n    *node
		want []peers.Peer
	}{
		{n1, []peers.Peer{via(n2.Node, n3.Node)}},
		{n2, []peers.Peer{via(n1.Node, n3.Node)}},
		{n3, []peers.Peer{n1.AsPeer(decision.ModeNative), n2.AsPeer(decision.ModeNative)}},
	} {
		if _, err := tc.n.conv.Apply(tc.want); err != nil {
			t.Fatal(err)
		}
	}
	out, err := dplab.Exec(n1.Name, "ip", "route", "show", n2.PodCIDR4.String())
	if err != nil || !strings.Contains(out, "via "+n3.IP4.String()) || strings.Contains(out, "onlink") {
		t.Errorf("n1 route to n2's pods: %q %v; want via %s without onlink", out, err, n3.IP4)
	}
	checkPing(t, l)
	if err := n1.Pods[0].TCPEcho(n2.Pods[0], n2.Pods[0].IP6, 64<<10); err != nil {
		t.Error(err)
	}
}
