package datapath

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// InspectUplink inspects the device that holds the first node IP (or the
// --iface override): the VXLAN devices send through it and native routes
// leave by it.
func (k *kernel) InspectUplink(local LocalNode) (Uplink, error) {
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
func (k *kernel) gatewayOf(iface string, local LocalNode) net.IP {
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

// RouteTo looks up the route to dst.
// Equivalent to: ip route get $dst
func (k *kernel) RouteTo(dst netip.Addr) (Route, error) {
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

// Carries: see UnderlayCarries.
func (k *kernel) Carries(dev string, cidr netip.Prefix) (bool, error) { return carries(k.h, dev, cidr) }

// UnderlayCarries answers decision rule 3's input for this node: whether a
// route on the tunnel underlay device dev that is not one of ours (not
// peers.RouteProtocol) covers the peer pod CIDR cidr. It is the one rule
// the agent (Kernel.Carries) and doctor both use, so doctor without the
// agent's peers file cannot disagree with the agent. n is the node's
// namespace (nil: the current one). Only kernel routes are consulted: a
// WireGuard device also needs the prefix in the peer's AllowedIPs.
// Equivalent to: ip route show dev $dev (and a prefix check)
func UnderlayCarries(n ns.NetNS, dev string, cidr netip.Prefix) (bool, error) {
	h, err := handleIn(n)
	if err != nil {
		return false, err
	}
	defer h.Close()
	return carries(h, dev, cidr)
}

func carries(h *netlink.Handle, dev string, cidr netip.Prefix) (bool, error) {
	l, err := h.LinkByName(dev)
	if err != nil {
		return false, fmt.Errorf("looking up %s: %w", dev, err)
	}
	fam := netlink.FAMILY_V4
	if cidr.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	rs, err := h.RouteList(l, fam)
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
			p, ok := netaddr.PrefixOf(r.Dst)
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
