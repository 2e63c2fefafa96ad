package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// Masquerader installs and removes the node's masquerade rules (pkg/masq).
type Masquerader interface {
	Ensure(podCIDRs, clusterCIDRs []netip.Prefix) error
	Cleanup() error
}

// KernelConfig configures NewKernel.
type KernelConfig struct {
	// NetNS is the namespace standing for the node (tests); nil: the
	// agent's own (the host's, in a hostNetwork pod).
	NetNS     ns.NetNS
	Iface     string // uplink override
	VNI, Port int
	Masq      Masquerader // nil: no masquerade
	Log       *slog.Logger
}

// netKernel is the production Kernel: netlink through a handle bound to
// the node's namespace, the offload package for inspection, overlay for
// the tunnel devices, peers for the per-peer converge.
type netKernel struct {
	cfg  KernelConfig
	h    *netlink.Handle
	conv *peers.Converger
	// lo addresses we added (probe addresses).
	loAddrs []netip.Prefix
	// node is EnsureNode's last input and result (nil before it).
	node *nodeSetup
}

// NewKernel opens a netlink handle in cfg.NetNS (or the current namespace).
func NewKernel(cfg KernelConfig) (Kernel, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h, err := handleIn(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	return &netKernel{cfg: cfg, h: h}, nil
}

func handleIn(n ns.NetNS) (*netlink.Handle, error) {
	if n == nil {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("opening netlink handle: %w", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(n.Fd()))
	if err != nil {
		return nil, fmt.Errorf("opening netlink handle in %s: %w", n.Path(), err)
	}
	return h, nil
}

// do runs f in the node's namespace (for exec'd tools and sockets).
func (k *netKernel) do(f func() error) error {
	if k.cfg.NetNS == nil {
		return f()
	}
	return k.cfg.NetNS.Do(func(ns.NetNS) error { return f() })
}

// InspectUplink inspects the device that holds the first node IP (or the
// --iface override): the VXLAN devices send through it and native routes
// leave by it.
func (k *netKernel) InspectUplink(local LocalNode) (Uplink, error) {
	iface := k.cfg.Iface
	if iface == "" && len(local.IPs) > 0 {
		name, err := k.deviceWith(local.IPs[0])
		if err != nil {
			return Uplink{}, err
		}
		iface = name
	}
	p, err := offload.InspectIn(k.cfg.NetNS, offload.Target{Iface: iface, Via: k.gatewayOf(iface, local)})
	if err != nil {
		return Uplink{}, fmt.Errorf("inspecting uplink %q: %w", iface, err)
	}
	if len(p.Devices) == 0 {
		return Uplink{}, fmt.Errorf("inspecting uplink %q: no device found", iface)
	}
	top := p.Devices[0]
	l, err := k.h.LinkByName(top.Name)
	if err != nil {
		return Uplink{}, fmt.Errorf("looking up uplink %s: %w", top.Name, err)
	}
	up := Uplink{Name: top.Name, Index: l.Attrs().Index, MTU: top.MTU, Verdict: offload.VerdictOf(p)}
	up.GSOMaxSize, up.GROMaxSize = bigTCPSizes(top, local)
	return up, nil
}

// gatewayOf is the default gateway leaving by iface for the first node IP's
// family (nil: none): off-link peers, the ones VXLAN carries, are reached
// through it, so a bridge uplink is walked through the port behind it.
// Equivalent to: `ip route show default dev $iface`.
func (k *netKernel) gatewayOf(iface string, local LocalNode) net.IP {
	if len(local.IPs) == 0 {
		return nil
	}
	l, err := k.h.LinkByName(iface)
	if err != nil {
		return nil
	}
	fam := netlink.FAMILY_V4
	if local.IPs[0].Is6() {
		fam = netlink.FAMILY_V6
	}
	routes, err := k.h.RouteListFiltered(fam, &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil
	}
	var best *netlink.Route
	for i := range routes {
		rt := &routes[i]
		if rt.Gw == nil || (rt.Dst != nil && !isDefaultDst(rt.Dst)) {
			continue
		}
		if best == nil || rt.Priority < best.Priority {
			best = rt
		}
	}
	if best == nil {
		return nil
	}
	return best.Gw
}

func isDefaultDst(d *net.IPNet) bool {
	ones, _ := d.Mask.Size()
	return ones == 0
}

// bigTCPSizes returns the GSO/GRO sizes the uplink accepts for every pod
// family this node has (IPv4 BIG TCP has its own limits, gso_ipv4_max_size).
func bigTCPSizes(d offload.Device, local LocalNode) (gso, gro int) {
	gso, gro = int(d.GSOMaxSize), int(d.GROMaxSize)
	if _, ok := local.PodCIDR(4); ok {
		gso, gro = min(gso, int(d.GSOIPv4MaxSize)), min(gro, int(d.GROIPv4MaxSize))
	}
	return gso, gro
}

// deviceWith returns the device holding ip.
// Equivalent to: ip -o addr show to $ip
func (k *netKernel) deviceWith(ip netip.Addr) (string, error) {
	addrs, err := k.h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return "", fmt.Errorf("listing addresses: %w", err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			l, err := k.h.LinkByIndex(a.LinkIndex)
			if err != nil {
				return "", fmt.Errorf("looking up device of %s: %w", ip, err)
			}
			return l.Attrs().Name, nil
		}
	}
	return "", fmt.Errorf("node IP %s is on no device of this node (set --node-ip or --iface)", ip)
}

// Encaps probes which tunnel kinds the kernel can create.
func (k *netKernel) Encaps() ([]string, error) { return offload.ProbeEncaps() }

// RouteTo looks up the route to dst.
// Equivalent to: ip route get $dst
func (k *netKernel) RouteTo(dst netip.Addr) (Route, error) {
	rs, err := k.h.RouteGet(net.IP(dst.AsSlice()))
	if err != nil {
		return Route{}, fmt.Errorf("ip route get %s: %w", dst, err)
	}
	if len(rs) == 0 {
		return Route{}, fmt.Errorf("ip route get %s: no route", dst)
	}
	r := Route{DeviceIndex: rs[0].LinkIndex, OnLink: rs[0].Gw == nil}
	if gw, ok := netip.AddrFromSlice(rs[0].Gw); ok {
		r.Gateway = gw.Unmap()
	}
	return r, nil
}

// Carries reports whether a route on dev that is not ours covers cidr.
// Equivalent to: ip route show dev $dev (and a prefix check)
func (k *netKernel) Carries(dev string, cidr netip.Prefix) (bool, error) {
	l, err := k.h.LinkByName(dev)
	if err != nil {
		return false, fmt.Errorf("looking up %s: %w", dev, err)
	}
	fam := netlink.FAMILY_V4
	if cidr.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	rs, err := k.h.RouteList(l, fam)
	if err != nil {
		return false, fmt.Errorf("listing routes on %s: %w", dev, err)
	}
	for _, r := range rs {
		if r.Protocol == peers.RouteProtocol {
			continue
		}
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if cidr.Addr().Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if r.Dst != nil {
			p, ok := prefixOf(r.Dst)
			if !ok {
				continue
			}
			dst = p
		}
		if dst.Bits() <= cidr.Bits() && dst.Contains(cidr.Addr()) {
			return true, nil
		}
	}
	return false, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// EnsureNode creates one VXLAN device per node-IP family carrying this
// node's VTEP address of that family (see overlay.Config.Addr), puts the
// probe address (first host address of each pod CIDR) on lo, and points the
// peer converger at the devices. The resync repeats the device and address
// steps (repairNode).
func (k *netKernel) EnsureNode(local LocalNode, up Uplink) (NodeSetup, error) {
	if k.conv == nil {
		// First call, before any probe runs: a probe route a killed agent
		// left would keep steering the peer's probe address natively.
		if err := k.removeProbeRoutes(); err != nil {
			return NodeSetup{}, err
		}
	}
	setup, links, err := k.ensureDevices(local, up)
	if err != nil {
		return setup, err
	}
	if err := k.ensureProbeAddrs(local); err != nil {
		return setup, err
	}
	k.node = &nodeSetup{local: local, up: up, links: links}
	if k.conv == nil {
		k.conv = peers.New(k.h, links)
		return setup, nil
	}
	if _, err := k.conv.SetLinks(links); err != nil {
		return setup, fmt.Errorf("re-pointing peers at new devices: %w", err)
	}
	return setup, nil
}

// nodeSetup is what EnsureNode was last asked for, kept for repairNode.
type nodeSetup struct {
	local LocalNode
	up    Uplink
	links peers.Links
}

// ensureDevices converges the VXLAN device of each node-IP family and its
// VTEP address; it writes nothing when both are as wanted.
func (k *netKernel) ensureDevices(local LocalNode, up Uplink) (NodeSetup, peers.Links, error) {
	var setup NodeSetup
	links := peers.Links{Uplink4: up.Index, Uplink6: up.Index}
	for _, ip := range local.IPs {
		var vtep netip.Addr
		if c, ok := local.PodCIDR(familyOf(ip)); ok {
			vtep = peers.VTEPAddr(c)
		}
		dev, err := overlay.Ensure(k.h, overlay.Config{Kind: overlay.KindVXLAN, VNI: k.cfg.VNI, Port: k.cfg.Port,
			LocalIP: ip, UplinkIndex: up.Index, UDPCsum: familyOf(ip) == 6, Addr: vtep})
		if err != nil {
			return setup, links, fmt.Errorf("ensuring VXLAN device for %s: %w", ip, err)
		}
		setup.VTEPMACs[famIndex(ip)] = dev.MAC
		if familyOf(ip) == 6 {
			links.VXLAN6 = dev.Index
		} else {
			links.VXLAN4 = dev.Index
		}
	}
	return setup, links, nil
}

// repairNode puts back what EnsureNode made and someone removed since: a
// VTEP address, a probe address on lo, a tunnel device (recreated with the
// same MAC; the converger is then re-pointed at its new index). When all is
// in place it only reads (a few link and address lookups) and writes
// nothing. It runs before the peers resync because deleting a device's last
// IPv4 address makes the kernel flush that device's routes and neighbours
// (see overlay.ensureAddr): routes re-added before the address would go
// nowhere useful, and the resync that follows restores them.
// Equivalent to: ip addr replace <VTEP>/32 dev oo-vxlan4;
// ip addr replace <probe>/32 dev lo (only for a missing address).
func (k *netKernel) repairNode() error {
	if k.node == nil {
		return nil
	}
	_, links, err := k.ensureDevices(k.node.local, k.node.up)
	if err != nil {
		return err
	}
	if err := k.ensureProbeAddrs(k.node.local); err != nil {
		return err
	}
	if links == k.node.links {
		return nil
	}
	k.cfg.Log.Warn("tunnel device recreated; re-pointing peer paths", "vxlan4", links.VXLAN4, "vxlan6", links.VXLAN6)
	k.node.links = links
	if _, err := k.conv.SetLinks(links); err != nil {
		return fmt.Errorf("re-pointing peers at recreated devices: %w", err)
	}
	return nil
}

// ensureProbeAddrs puts the first host address of each pod CIDR on lo as
// a host address, so every node answers ICMP inside its own pod CIDR (the
// native probe's target; see doc.go). Addresses already there are not
// rewritten (a restart makes no address change).
// Equivalent to: ip addr replace 10.244.1.1/32 dev lo
func (k *netKernel) ensureProbeAddrs(local LocalNode) error {
	lo, err := k.h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("looking up lo: %w", err)
	}
	if lo.Attrs().Flags&net.FlagUp == 0 {
		if err := k.h.LinkSetUp(lo); err != nil {
			return fmt.Errorf("setting lo up: %w", err)
		}
	}
	have, err := k.h.AddrList(lo, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("listing addresses of lo: %w", err)
	}
	k.loAddrs = k.loAddrs[:0]
	for _, c := range local.PodCIDRs {
		a := gatewayAddr(c)
		p := netip.PrefixFrom(a, a.BitLen())
		k.loAddrs = append(k.loAddrs, p)
		if hasAddr(have, p) {
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
		if familyOf(a) == 6 {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := k.h.AddrReplace(lo, addr); err != nil {
			return fmt.Errorf("adding probe address %s to lo: %w", p, err)
		}
	}
	return nil
}

func hasAddr(have []netlink.Addr, p netip.Prefix) bool {
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IP)
		if ones, _ := a.Mask.Size(); ip.Unmap() == p.Addr() && ones == p.Bits() {
			return true
		}
	}
	return false
}

// EnsureMasquerade delegates to the masquerader.
func (k *netKernel) EnsureMasquerade(podCIDRs, clusterCIDRs []netip.Prefix) error {
	if k.cfg.Masq == nil {
		return nil
	}
	var err error
	if e := k.do(func() error { err = k.cfg.Masq.Ensure(podCIDRs, clusterCIDRs); return nil }); e != nil {
		return e
	}
	return err
}

// ApplyPaths programs changed paths one by one (O(1) netlink calls each).
func (k *netKernel) ApplyPaths(upsert, remove []Path) error {
	var errs []error
	for _, p := range remove {
		if _, err := k.conv.RemovePeer(p.Key()); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", p.Key(), err))
		}
	}
	for _, p := range upsert {
		rep, err := k.conv.ApplyPeer(toPeer(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("programming %s: %w", p.Key(), err))
		}
		k.logSkipped(rep)
	}
	return errors.Join(errs...)
}

// ResyncPaths repairs the node's devices and addresses (repairNode), hands
// the converger the complete set, then re-reads the kernel and repairs
// drift: in that order, so routes and neighbours the kernel flushed with a
// deleted VTEP address come back after the address.
func (k *netKernel) ResyncPaths(all []Path) error {
	if err := k.repairNode(); err != nil {
		return fmt.Errorf("repairing tunnel devices and addresses: %w", err)
	}
	ps := make([]peers.Peer, 0, len(all))
	for _, p := range all {
		ps = append(ps, toPeer(p))
	}
	rep, err := k.conv.Apply(ps)
	k.logSkipped(rep)
	if err != nil {
		return fmt.Errorf("converging %d peer paths: %w", len(all), err)
	}
	if _, err := k.conv.Resync(); err != nil {
		return fmt.Errorf("resyncing peer paths: %w", err)
	}
	return nil
}

func (k *netKernel) logSkipped(rep peers.Report) {
	for name, why := range rep.Skipped {
		k.cfg.Log.Warn("peer path not programmed", "path", name, "reason", why)
	}
}

// toPeer maps one path (peer and family) to a converger peer named by the
// path key, so the two families of a dual-stack peer may take different
// modes and are added and removed independently.
func toPeer(p Path) peers.Peer {
	ep := peers.Endpoint{NodeIP: p.PeerIP, VTEPMAC: p.PeerMAC, NextHop: p.Via}
	return peers.Peer{Name: p.Key(), Mode: p.Mode, PodCIDRs: []netip.Prefix{p.PodCIDR}, Endpoints: []peers.Endpoint{ep}}
}

// ProbeNative: see probe_icmp.go.
func (k *netKernel) ProbeNative(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error {
	return k.probeICMP(ctx, src, dst, gw, devIndex)
}

// Cleanup removes our routes, neighbours, FDB entries, tunnel devices (with
// their VTEP addresses), probe addresses and masquerade rules.
func (k *netKernel) Cleanup(podCIDRs []netip.Prefix) error {
	var errs []error
	if err := k.removeProbeRoutes(); err != nil {
		errs = append(errs, err)
	}
	if err := k.removeProbeAddrs(podCIDRs); err != nil {
		errs = append(errs, err)
	}
	if err := peers.Cleanup(k.h); err != nil {
		errs = append(errs, fmt.Errorf("removing peer routes: %w", err))
	}
	if err := overlay.TeardownAll(k.h); err != nil {
		errs = append(errs, fmt.Errorf("removing tunnel devices: %w", err))
	}
	if k.cfg.Masq != nil {
		if err := k.do(k.cfg.Masq.Cleanup); err != nil {
			errs = append(errs, fmt.Errorf("removing masquerade rules: %w", err))
		}
	}
	return errors.Join(errs...)
}

// NetlinkStats returns the peer converger's cumulative netlink writes and
// dumps (benchmarks read it through an interface assertion).
func (k *netKernel) NetlinkStats() (writes, reads uint64) {
	if k.conv == nil {
		return 0, 0
	}
	s := k.conv.Stats()
	return s.Writes, s.Reads
}

// WatchRoutes subscribes to route changes in the node's namespace and calls
// changed for every change that is not one of our own routes (peer routes,
// probe routes, local-table entries, IPv6 link-local and multicast routes
// that appear with any device).
// Equivalent to: ip monitor route
func (k *netKernel) WatchRoutes(ctx context.Context, changed func()) error {
	ch := make(chan netlink.RouteUpdate, 256)
	done := make(chan struct{})
	opts := netlink.RouteSubscribeOptions{ErrorCallback: func(err error) {
		k.cfg.Log.Warn("route monitor", "err", err)
	}}
	if k.cfg.NetNS != nil {
		h := netns.NsHandle(k.cfg.NetNS.Fd())
		opts.Namespace = &h
	}
	if err := netlink.RouteSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("subscribing to route changes: %w", err)
	}
	go func() {
		<-ctx.Done()
		close(done)
	}()
	go func() {
		for u := range ch {
			if !ownRoute(u.Route) {
				changed()
			}
		}
	}()
	return nil
}

func ownRoute(r netlink.Route) bool {
	if r.Protocol == peers.RouteProtocol || r.Protocol == probeRouteProtocol || r.Table == unix.RT_TABLE_LOCAL {
		return true
	}
	if r.Dst == nil {
		return false
	}
	return r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast()
}
