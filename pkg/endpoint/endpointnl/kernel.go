// Package endpointnl reads what package endpoint's checks need from the
// kernel, over netlink: this node's addresses and subnets (ReadLocal) and
// how the kernel routes to an address (Route). It is apart from package
// endpoint so that peer admission, in the controller, links no netlink;
// the datapath (its EndpointChecker) calls both.
package endpointnl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/endpoint"
)

// ReadLocal lists this node's addresses and connected subnets.
// Equivalent to: ip -o addr show
func ReadLocal(h *netlink.Handle) (endpoint.Local, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return endpoint.Local{}, fmt.Errorf("listing local addresses: %w", err)
	}
	var l endpoint.Local
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		l.Addrs = append(l.Addrs, ip)
		if ones, _ := a.Mask.Size(); a.Mask != nil {
			l.Subnets = append(l.Subnets, netip.PrefixFrom(ip, ones).Masked())
		}
	}
	return l, nil
}

// Route returns how the kernel routes to ep. Lookups that fail because
// the matching route is unreachable, blackhole or prohibit report that
// kind, not an error.
// Equivalent to: ip route get $ep
func Route(h *netlink.Handle, ep netip.Addr) (endpoint.RouteKind, error) {
	rs, err := h.RouteGet(net.IP(ep.AsSlice()))
	switch {
	case errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.ENETUNREACH):
		return endpoint.Unreachable, nil
	case errors.Is(err, unix.EINVAL):
		return endpoint.Blackhole, nil
	case errors.Is(err, unix.EACCES):
		return endpoint.Prohibit, nil
	case err != nil:
		return "", fmt.Errorf("route lookup of %s: %w", ep, err)
	case len(rs) == 0:
		return endpoint.Unreachable, nil
	}
	return kindOf(rs[0].Type), nil
}

func kindOf(t int) endpoint.RouteKind {
	switch t {
	case unix.RTN_UNICAST:
		return endpoint.Unicast
	case unix.RTN_LOCAL:
		return endpoint.LocalRoute
	case unix.RTN_BROADCAST:
		return endpoint.Broadcast
	case unix.RTN_MULTICAST:
		return endpoint.Multicast
	case unix.RTN_ANYCAST:
		return endpoint.Anycast
	case unix.RTN_UNREACHABLE:
		return endpoint.Unreachable
	case unix.RTN_BLACKHOLE:
		return endpoint.Blackhole
	case unix.RTN_PROHIBIT:
		return endpoint.Prohibit
	}
	return endpoint.Other
}
