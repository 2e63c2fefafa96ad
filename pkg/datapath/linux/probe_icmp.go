package linux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/nativeprobe"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
)

// probeRouteProtocol marks the temporary /32 (/128) probe routes
// (`proto 0x50`), distinct from the peer routes (peers.RouteProtocol) so the
// peer converger's resync never mistakes one for its own, and cleanup
// finds leftovers of an interrupted probe.
const probeRouteProtocol = 0x50

// ProbeNative: see probe_icmp.go.
func (k *kernel) ProbeNative(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error {
	return k.probeICMP(ctx, src, dst, gw, devIndex)
}

// probeICMP checks that dst (the peer's probe address inside its pod CIDR)
// answers natively through the underlay next hop gw: a host route to dst
// via gw, sourced from our own probe address, then ICMP echo requests from
// src to dst. The route is removed afterwards. See pkg/agent/doc.go.
// Equivalent to:
//
//	ip route replace $dst/32 via $gw dev $uplink src $src proto 0x50
//	ping -c 3 -W 1 -I $src $dst
//	ip route del $dst/32 proto 0x50
func (k *kernel) probeICMP(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error {
	h, err := handleIn(k.cfg.NetNS) // one per probe: probes run concurrently
	if err != nil {
		return err
	}
	defer h.Close()
	rt := probeRoute(src, dst, gw, devIndex)
	if err := h.RouteReplace(rt); err != nil {
		return fmt.Errorf("adding probe route %s via %s: %w", dst, gw, err)
	}
	defer func() { _ = h.RouteDel(rt) }()
	return k.do(func() error { return nativeprobe.Echo(ctx, src, dst) }) // nonce-checked (pkg/nativeprobe)
}

func probeRoute(src, dst, gw netip.Addr, devIndex int) *netlink.Route {
	bits := dst.BitLen()
	return &netlink.Route{
		LinkIndex: devIndex,
		Dst:       &net.IPNet{IP: dst.AsSlice(), Mask: net.CIDRMask(bits, bits)},
		Gw:        gw.AsSlice(),
		Src:       src.AsSlice(),
		Protocol:  probeRouteProtocol,
	}
}

// removeProbeRoutes deletes probe routes an interrupted agent left behind.
// Equivalent to: ip route flush proto 0x50 (both families)
func (k *kernel) removeProbeRoutes() error {
	var errs []error
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := k.h.RouteListFiltered(fam, &netlink.Route{Protocol: probeRouteProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing probe routes: %w", err))
			continue
		}
		for i := range rs {
			if err := k.h.RouteDel(&rs[i]); err != nil {
				errs = append(errs, fmt.Errorf("deleting probe route %s: %w", rs[i].Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeProbeAddrs removes the probe addresses from lo.
// Equivalent to: ip addr del 10.244.1.1/32 dev lo
func (k *kernel) removeProbeAddrs(podCIDRs []netip.Prefix) error {
	lo, err := k.h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("looking up lo: %w", err)
	}
	var errs []error
	for _, c := range podCIDRs {
		a := netaddr.Gateway(c)
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
		if err := k.h.AddrDel(lo, addr); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("removing probe address %s from lo: %w", a, err))
		}
	}
	return errors.Join(errs...)
}
