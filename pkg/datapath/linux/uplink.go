package linux

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// InspectUplink inspects the device that holds the first node IP (or the
// --iface override): the VXLAN devices send through it and native routes
// leave by it.
func (k *kernel) InspectUplink(local datapath.LocalNode) (datapath.Uplink, error) {
	iface := k.cfg.Iface
	if iface == "" && len(local.IPs) > 0 {
		name, err := k.deviceWith(local.IPs[0])
		if err != nil {
			return datapath.Uplink{}, err
		}
		iface = name
	}
	p, err := offload.InspectIn(k.cfg.NetNS, offload.Target{Iface: iface, Via: k.gatewayOf(iface, local)})
	if err != nil {
		return datapath.Uplink{}, fmt.Errorf("inspecting uplink %q: %w", iface, err)
	}
	if len(p.Devices) == 0 {
		return datapath.Uplink{}, fmt.Errorf("inspecting uplink %q: no device found", iface)
	}
	top := p.Devices[0]
	l, err := k.h.LinkByName(top.Name)
	if err != nil {
		return datapath.Uplink{}, fmt.Errorf("looking up uplink %s: %w", top.Name, err)
	}
	up := datapath.Uplink{Name: top.Name, Index: l.Attrs().Index, MTU: top.MTU, Verdict: offload.VerdictOf(p)}
	up.GSOMaxSize, up.GROMaxSize = bigTCPSizes(top, local)
	return up, nil
}

// gatewayOf is the default gateway leaving by iface for the first node IP's
// family (nil: none): off-link peers, the ones VXLAN carries, are reached
// through it, so a bridge uplink is walked through the port behind it.
// Equivalent to: `ip route show default dev $iface`.
func (k *kernel) gatewayOf(iface string, local datapath.LocalNode) net.IP {
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
func bigTCPSizes(d offload.Device, local datapath.LocalNode) (gso, gro int) {
	gso, gro = int(d.GSOMaxSize), int(d.GROMaxSize)
	if _, ok := local.PodCIDR(4); ok {
		gso, gro = min(gso, int(d.GSOIPv4MaxSize)), min(gro, int(d.GROIPv4MaxSize))
	}
	return gso, gro
}

// deviceWith returns the device holding ip.
// Equivalent to: ip -o addr show to $ip
func (k *kernel) deviceWith(ip netip.Addr) (string, error) {
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
func (k *kernel) Encaps() ([]string, error) { return offload.ProbeEncaps() }

// RouteTo resolves the egress towards dst (offload.EgressCache: the walk
// below a hop set is shared by every peer using it).
// Equivalent to: ip route get $dst (and fibmatch for ECMP next hops)
func (k *kernel) RouteTo(dst netip.Addr) (datapath.Route, error) {
	e, err := k.egressTo(dst)
	if err != nil {
		return datapath.Route{}, err
	}
	return routeOf(e), nil
}

func (k *kernel) egressTo(dst netip.Addr) (*offload.Egress, error) {
	if k.egress == nil {
		k.egress = offload.NewEgressCache()
	}
	e, err := k.egress.To(k.cfg.NetNS, net.IP(dst.AsSlice()))
	if err != nil {
		return nil, fmt.Errorf("ip route get %s: %w", dst, err)
	}
	return e, nil
}

// ForgetRoutes drops the cached walks, links and route tables.
func (k *kernel) ForgetRoutes() { k.egress = nil }

func routeOf(e *offload.Egress) datapath.Route {
	r := datapath.Route{DeviceIndex: e.Index, Device: e.Device, Kind: e.Kind, OnLink: e.AllOnLink(), MTU: e.MTU, Verdict: e.Verdict}
	if gw, ok := netip.AddrFromSlice(e.Gateway); ok {
		r.Gateway = gw.Unmap()
	}
	if src, ok := netip.AddrFromSlice(e.Source); ok {
		r.Source = src.Unmap()
	}
	return r
}

// Carries: see UnderlayCarries.
func (k *kernel) Carries(dst netip.Addr, cidr netip.Prefix) (bool, bool, error) {
	e, err := k.egressTo(dst)
	if err != nil {
		return false, false, err
	}
	return k.egress.Carries(k.cfg.NetNS, e, cidr, peers.RouteProtocol)
}

// UnderlayCarries answers "does this node's underlay carry the peer's pod
// CIDR" (decision rules 2 and 3): whether this node's own routes (not ours,
// peers.RouteProtocol; a default route counts, byDefault says it was one)
// send cidr the way they send the peer's node IP peer: the longest
// covering route of the table the lookup used leaves by the same device
// (offload.Carries). It is the one rule the agent (Kernel.Carries) and
// doctor both use, so doctor without the agent's peers file cannot
// disagree with the agent. n is the node's namespace (nil: the current
// one). Only kernel routes are consulted: a WireGuard device also needs the
// prefix in the peer's AllowedIPs.
// Equivalent to: ip route get $peer; ip route show table $t (longest match)
func UnderlayCarries(n ns.NetNS, peer netip.Addr, cidr netip.Prefix) (carries, byDefault bool, err error) {
	c := offload.NewEgressCache()
	e, err := c.To(n, net.IP(peer.AsSlice()))
	if err != nil {
		return false, false, err
	}
	return c.Carries(n, e, cidr, peers.RouteProtocol)
}
