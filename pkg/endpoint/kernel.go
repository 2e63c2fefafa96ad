package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ReadLocal lists this node's addresses and connected subnets.
// Equivalent to: ip -o addr show
func ReadLocal(h *netlink.Handle) (Local, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return Local{}, fmt.Errorf("listing local addresses: %w", err)
	}
	var l Local
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
func Route(h *netlink.Handle, ep netip.Addr) (RouteKind, error) {
	rs, err := h.RouteGet(net.IP(ep.AsSlice()))
	switch {
	case errors.Is(err, unix.EHOSTUNREACH), errors.Is(err, unix.ENETUNREACH):
		return Unreachable, nil
	case errors.Is(err, unix.EINVAL):
		return Blackhole, nil
	case errors.Is(err, unix.EACCES):
		return Prohibit, nil
	case err != nil:
		return "", fmt.Errorf("route lookup of %s: %w", ep, err)
	case len(rs) == 0:
		return Unreachable, nil
	}
	return kindOf(rs[0].Type), nil
}

func kindOf(t int) RouteKind {
	switch t {
	case unix.RTN_UNICAST:
		return Unicast
	case unix.RTN_LOCAL:
		return LocalRoute
	case unix.RTN_BROADCAST:
		return Broadcast
	case unix.RTN_MULTICAST:
		return Multicast
	case unix.RTN_ANYCAST:
		return Anycast
	case unix.RTN_UNREACHABLE:
		return Unreachable
	case unix.RTN_BLACKHOLE:
		return Blackhole
	case unix.RTN_PROHIBIT:
		return Prohibit
	}
	return Other
}
