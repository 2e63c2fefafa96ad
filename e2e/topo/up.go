package topo

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"syscall"
)

// Up builds the underlay described by spec. Leftovers with the same prefix
// (a crashed earlier run) are removed first; on any failure everything built
// so far is removed again.
func Up(spec Spec) (topo *Topology, err error) {
	spec, err = spec.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := Down(spec.Prefix); err != nil {
		return nil, fmt.Errorf("removing leftovers of %s*: %w", spec.Prefix, err)
	}
	success := false
	defer func() {
		if !success {
			if derr := Down(spec.Prefix); derr != nil {
				slog.Warn("cleanup after failed Up", "err", derr)
			}
		}
	}()
	t, err := Describe(spec)
	if err != nil {
		return nil, err
	}
	spec = t.Spec
	b := &builder{spec: spec, p: plan{site: spec.Site}, t: t}
	for _, step := range []func() error{b.namespaces, b.switchAndRouter, b.tunnelUnderlay, b.nodes, b.hubs, b.internet, b.hostLink, b.podRoutes} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	success = true
	return b.t, nil
}

type builder struct {
	spec Spec
	p    plan
	t    *Topology
}

// Describe returns the topology Up builds for spec, without building it:
// every name and address is a pure function of the spec.
func Describe(spec Spec) (*Topology, error) {
	s, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	p := plan{site: s.Site}
	t := &Topology{Prefix: s.Prefix, Site: s.Site, Switch: s.Prefix + "sw", Router: s.Prefix + "rt", Spec: s}
	t.LabCIDR = p.labV4().String()
	if s.Internet {
		t.Internet = s.Prefix + "inet"
		t.InternetIPs = []string{p.inetV4(inetHost).Addr().String(), p.inetV6(inetHost).Addr().String()}
		if s.IPv6Only {
			t.InternetIPs = t.InternetIPs[1:]
		}
	}
	if s.HostLink {
		t.HostLink, t.HostIP = s.Prefix+"host", p.hostV4().Addr().String()
		if s.IPv6Only {
			t.HostIP = p.hostV6().Addr().String()
		}
	}
	for i, n := range s.Nodes {
		host := firstNode + i
		node := Node{Name: n.Name, Netns: s.Prefix + n.Name, Segment: n.Segment, Uplink: "eth0", SwitchPort: n.Name,
			NoTunnelOffload: n.NoTunnelOffload, PodCIDRs: n.PodCIDRs, MTU: s.MTU,
			IPv4: p.v4(n.Segment, host).Addr().String(), IPv6: p.v6(n.Segment, host).Addr().String(),
			Gateway4: p.v4(n.Segment, routerHost).Addr().String(), Gateway6: p.v6(n.Segment, routerHost).Addr().String()}
		if n.Segment == SegX {
			node.Uplink, node.Lower, node.MTU = "vxul", "eth0", s.MTU-UnderlayOverhead
		}
		if n.BridgeUplink {
			node.Uplink = "br0"
			if node.Lower == "" {
				node.Lower = "eth0"
			}
		}
		if n.Hub != "" {
			describeEdge(s, p, s.edgeIndex(n.Name), &node)
			node.Hub, node.TunnelDefault = n.Hub, n.TunnelDefault
		}
		if c := n.ClusterSegment; c != "" {
			node.Uplink, node.ClusterSegment = "eth1", c
			node.IPv4, node.IPv6 = p.v4(c, host).Addr().String(), p.v6(c, host).Addr().String()
		}
		if s.IPv6Only {
			node.IPv4, node.Gateway4 = "", ""
		}
		t.Nodes = append(t.Nodes, node)
	}
	return t, nil
}

// segments returns the L2 segments in use (t when x is used).
func (b *builder) segments() []string {
	var segs []string
	for _, n := range b.spec.Nodes {
		for _, s := range []string{n.Segment, n.ClusterSegment} {
			if s == SegX || s == SegEdge {
				s = segT
			}
			if s != "" && !slices.Contains(segs, s) {
				segs = append(segs, s)
			}
		}
	}
	slices.Sort(segs)
	return segs
}

func (b *builder) usesTunnelUnderlay() bool {
	return slices.ContainsFunc(b.spec.Nodes, func(n NodeSpec) bool { return n.Segment == SegX })
}

// namespaces creates every namespace with loopback up.
func (b *builder) namespaces() error {
	names := []string{b.t.Switch, b.t.Router}
	if b.t.Internet != "" {
		names = append(names, b.t.Internet)
	}
	for _, n := range b.spec.Nodes {
		names = append(names, b.spec.Prefix+n.Name)
		if n.GuestPort && n.BridgeUplink {
			names = append(names, b.spec.Prefix+n.Name+"g")
		}
	}
	for _, n := range names {
		if err := AddNetns(n); err != nil {
			return err
		}
		if err := linkUp(n, "lo"); err != nil {
			return err
		}
		// No duplicate address detection on the lab's links, link-local
		// addresses included: the lab owns every address, and a tentative
		// link-local address stalls IPv6 neighbour discovery for a second.
		for _, k := range []string{"net.ipv6.conf.default.accept_dad", "net.ipv6.conf.all.accept_dad"} {
			if err := Sysctl(n, k, "0"); err != nil {
				return err
			}
		}
	}
	for _, n := range append([]string{b.t.Router}, nodeNetns(b.spec)...) {
		for _, kv := range [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv6.conf.all.forwarding", "1"}} {
			if err := Sysctl(n, kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

func nodeNetns(s Spec) []string {
	var out []string
	for _, n := range s.Nodes {
		out = append(out, s.Prefix+n.Name)
	}
	return out
}

// switchAndRouter creates one bridge per segment and the router's leg on it.
func (b *builder) switchAndRouter() error {
	for _, seg := range b.segments() {
		br := "br-" + seg
		if err := addBridge(b.t.Switch, br); err != nil {
			return err
		}
		leg, port := seg+"0", "rt-"+seg
		if err := addVeth(b.t.Router, leg, b.t.Switch, port, b.spec.MTU); err != nil {
			return err
		}
		if err := setMaster(b.t.Switch, port, br); err != nil {
			return err
		}
		if b.spec.BigTCP && seg != segT {
			for _, d := range [][2]string{{b.t.Router, leg}, {b.t.Switch, port}} {
				if err := setBigTCP(d[0], d[1], BigTCPSize); err != nil {
					return err
				}
			}
		}
		if err := addAddr(b.t.Router, leg, b.p.v4(seg, routerHost)); err != nil {
			return err
		}
		if seg == segT {
			continue // transport only: IPv4 outer headers
		}
		if err := addAddr(b.t.Router, leg, b.p.v6(seg, routerHost)); err != nil {
			return err
		}
	}
	return nil
}

// tunnelUnderlay makes the router a member of segment x: a VXLAN device over
// its transport leg, flooding to every x node.
func (b *builder) tunnelUnderlay() error {
	if !b.usesTunnelUnderlay() {
		return nil
	}
	var remotes []netip.Addr
	for i, n := range b.spec.Nodes {
		if n.Segment == SegX {
			remotes = append(remotes, b.p.v4(segT, firstNode+i).Addr())
		}
	}
	local := b.p.v4(segT, routerHost).Addr()
	if err := addVXLAN(b.t.Router, "x0", segT+"0", UnderlayVNI, UnderlayPort, b.spec.MTU-UnderlayOverhead, local, remotes); err != nil {
		return err
	}
	if err := addAddr(b.t.Router, "x0", b.p.v4(SegX, routerHost)); err != nil {
		return err
	}
	return addAddr(b.t.Router, "x0", b.p.v6(SegX, routerHost))
}

// nodes wires every node namespace to its segment.
func (b *builder) nodes() error {
	for i := range b.t.Nodes {
		if err := b.node(firstNode+i, &b.t.Nodes[i]); err != nil {
			return fmt.Errorf("node %s: %w", b.t.Nodes[i].Name, err)
		}
	}
	return nil
}

func (b *builder) node(host int, n *Node) error {
	spec := b.spec.Nodes[host-firstNode]
	switch {
	case spec.Hub != "":
		return b.edgeNode(host, n, spec)
	case spec.ClusterSegment != "":
		return b.twoNICNode(host, n, spec)
	}
	l2 := n.Segment
	if n.Segment == SegX {
		l2 = segT
	}
	if err := addVeth(n.Netns, "eth0", b.t.Switch, n.SwitchPort, b.spec.MTU); err != nil {
		return err
	}
	if err := setMaster(b.t.Switch, n.SwitchPort, "br-"+l2); err != nil {
		return err
	}
	if n.NoTunnelOffload {
		if err := setTunnelOffload(n.Netns, "eth0", false); err != nil {
			return err
		}
	}
	if b.spec.BigTCP && n.Segment != SegX {
		for _, d := range [][2]string{{n.Netns, "eth0"}, {b.t.Switch, n.SwitchPort}, {b.t.Switch, "br-" + l2}} {
			if err := setBigTCP(d[0], d[1], BigTCPSize); err != nil {
				return err
			}
		}
	}
	port := "eth0"
	if n.Segment == SegX {
		if err := b.tunnelUplink(n.Netns, host); err != nil {
			return err
		}
		port = "vxul"
	}
	if n.Uplink == "br0" {
		if err := b.bridgeUplink(n.Netns, port); err != nil {
			return err
		}
	}
	addrs := []netip.Prefix{b.p.v6(n.Segment, host)}
	if !b.spec.IPv6Only {
		addrs = append(addrs, b.p.v4(n.Segment, host))
	}
	for _, a := range addrs {
		if err := addAddr(n.Netns, n.Uplink, a); err != nil {
			return err
		}
	}
	if !b.spec.IPv6Only {
		if err := addRoute(n.Netns, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParseAddr(n.Gateway4), 0); err != nil {
			return err
		}
	}
	return addRoute(n.Netns, netip.MustParsePrefix("::/0"), netip.MustParseAddr(n.Gateway6), 0)
}

// bridgeUplink makes br0 the node's uplink with port (eth0, or vxul on the
// tunnel underlay) below it. The bridge's MTU and offloads follow its port.
// Equivalent to:
// `ip -n $ns link add br0 type bridge && ip -n $ns link set $port master br0`.
func (b *builder) bridgeUplink(nsName, port string) error {
	if err := addBridge(nsName, "br0"); err != nil {
		return err
	}
	if err := setMaster(nsName, port, "br0"); err != nil {
		return err
	}
	if b.guestPort(nsName) {
		if err := addVeth(nsName, "vm0", nsName+"g", "eth0", b.spec.MTU); err != nil {
			return err
		}
		if err := setMaster(nsName, "vm0", "br0"); err != nil {
			return err
		}
		if err := setTunnelOffload(nsName, "vm0", false); err != nil {
			return err
		}
	}
	if b.spec.BigTCP && port == "eth0" {
		return setBigTCP(nsName, "br0", BigTCPSize)
	}
	return nil
}

// guestPort reports whether the node of namespace nsName has a guest port.
func (b *builder) guestPort(nsName string) bool {
	for _, n := range b.spec.Nodes {
		if b.spec.Prefix+n.Name == nsName {
			return n.GuestPort
		}
	}
	return false
}

// tunnelUplink gives a tunnel-underlay node its transport address and the
// VXLAN device that becomes its uplink.
func (b *builder) tunnelUplink(nsName string, host int) error {
	local := b.p.v4(segT, host)
	if err := addAddr(nsName, "eth0", local); err != nil {
		return err
	}
	remotes := []netip.Addr{b.p.v4(segT, routerHost).Addr()}
	for i, o := range b.spec.Nodes {
		if o.Segment == SegX && firstNode+i != host {
			remotes = append(remotes, b.p.v4(segT, firstNode+i).Addr())
		}
	}
	return addVXLAN(nsName, "vxul", "eth0", UnderlayVNI, UnderlayPort, b.spec.MTU-UnderlayOverhead, local.Addr(), remotes)
}

// internet creates the namespace standing for the internet behind the router.
func (b *builder) internet() error {
	if b.t.Internet == "" {
		return nil
	}
	if err := addVeth(b.t.Router, "inet0", b.t.Internet, "eth0", b.spec.MTU); err != nil {
		return err
	}
	for _, pair := range []struct {
		ns, dev string
		a       netip.Prefix
	}{
		{b.t.Router, "inet0", b.p.inetV4(routerInet)}, {b.t.Router, "inet0", b.p.inetV6(routerInet)},
		{b.t.Internet, "eth0", b.p.inetV4(inetHost)}, {b.t.Internet, "eth0", b.p.inetV6(inetHost)},
	} {
		if err := addAddr(pair.ns, pair.dev, pair.a); err != nil {
			return err
		}
	}
	if err := addRoute(b.t.Internet, netip.MustParsePrefix("0.0.0.0/0"), b.p.inetV4(routerInet).Addr(), 0); err != nil {
		return err
	}
	if err := addRoute(b.t.Internet, netip.MustParsePrefix("::/0"), b.p.inetV6(routerInet).Addr(), 0); err != nil {
		return err
	}
	return nil
}

// hostLink connects the host namespace to the router: the host gets a /16
// covering the lab, the router answers ARP for it (proxy_arp).
func (b *builder) hostLink() error {
	if b.t.HostLink == "" {
		return nil
	}
	name := b.t.HostLink
	if err := addVeth("", name, b.t.Router, "host0", b.spec.MTU); err != nil {
		return err
	}
	if err := Sysctl(b.t.Router, "net.ipv4.conf.host0.proxy_arp", "1"); err != nil {
		return err
	}
	if err := addAddr(b.t.Router, "host0", b.p.routerHostV4()); err != nil {
		return err
	}
	if err := addAddr("", name, b.p.hostV4()); err != nil {
		return err
	}
	if !b.spec.IPv6Only {
		return nil
	}
	// IPv6-only nodes reach the host (the API server) over IPv6: a /64 on
	// the link and a route for the whole lab via the router, both gone
	// with the link.
	if err := addAddr(b.t.Router, "host0", b.p.routerHostV6()); err != nil {
		return err
	}
	if err := addAddr("", name, b.p.hostV6()); err != nil {
		return err
	}
	return addRouteHost(name, b.p.labV6(), b.p.routerHostV6().Addr())
}

// podRoutes programs the router for nodes whose pod CIDRs are known.
func (b *builder) podRoutes() error {
	for _, n := range b.t.Nodes {
		if len(n.PodCIDRs) > 0 {
			if err := b.t.SetPodCIDRs(n.Name, n.PodCIDRs); err != nil {
				return err
			}
		}
	}
	return nil
}

// podRouteTable holds the pod CIDR routes used for traffic that arrives from
// a segment listed in Spec.PodRouteSegments (when not every segment is).
const podRouteTable = 100

// SetPodCIDRs records a node's pod CIDRs and, where the spec says the router
// carries pod CIDRs, routes them to the node. Call it again once
// kube-controller-manager allocated them (the cluster e2e). Equivalent to:
// `ip -n ool-rt route replace $cidr via $nodeIP [table 100]`.
func (t *Topology) SetPodCIDRs(node string, cidrs []string) error {
	n := t.NodeByName(node)
	if n == nil {
		return fmt.Errorf("no node %q in the lab", node)
	}
	n.PodCIDRs = cidrs
	all := slices.Contains(t.Spec.PodRouteSegments, "*")
	for _, c := range cidrs {
		dst, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("node %s pod CIDR %q: %w", node, c, err)
		}
		via := n
		if n.Hub != "" {
			via = t.NodeByName(n.Hub) // the router reaches an edge through its hub
		}
		gwStr := via.IPv4
		if dst.Addr().Is6() {
			gwStr = via.IPv6
		}
		gw, err := netip.ParseAddr(gwStr)
		if err != nil {
			return fmt.Errorf("node %s has no node IP of pod CIDR %s's family: %w", node, c, err)
		}
		if all || t.Spec.routesPodCIDRsOf(n.Segment) {
			if err := addRoute(t.Router, dst, gw, 0); err != nil {
				return err
			}
		}
		if all || len(t.Spec.PodRouteSegments) == 0 {
			continue
		}
		if err := addRoute(t.Router, dst, gw, podRouteTable); err != nil {
			return err
		}
		for _, seg := range t.Spec.PodRouteSegments {
			for _, fam := range []int{syscall.AF_INET, syscall.AF_INET6} {
				if err := addIifRule(t.Router, seg+"0", podRouteTable, fam); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
