package offload

import (
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Inspect resolves the egress path for t in the calling thread's network
// namespace and reads every device on it.
// Equivalent to: `ip route get DST`, `ip -d link show`, `ethtool -i` and
// `ethtool -k` for each device below the route's output device.
func Inspect(t Target) (*Path, error) {
	r, err := newEthtoolReader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return resolvePath(r, t)
}

// InspectIn is Inspect inside netns (nil: the calling thread's namespace).
// The ethtool socket is opened inside netns, so device names resolve there.
func InspectIn(netns ns.NetNS, t Target) (*Path, error) {
	if netns == nil {
		return Inspect(t)
	}
	var p *Path
	err := netns.Do(func(ns.NetNS) error {
		var err error
		p, err = Inspect(t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inspecting path in %s: %w", netns.Path(), err)
	}
	return p, nil
}

// RoutesVia reports whether the route towards the first address of prefix
// leaves by device dev, i.e. whether a tunnel underlay named dev carries
// that prefix (decision rule 3). Only kernel routes are consulted: a
// WireGuard device also needs the prefix in the peer's AllowedIPs.
// Equivalent to: `ip route get PREFIX-ADDRESS` and comparing the `dev`.
func RoutesVia(netns ns.NetNS, prefix *net.IPNet, dev string) (bool, error) {
	var out bool
	do := func() error {
		rt, err := routeTo(prefix.IP)
		if err != nil {
			return err
		}
		l, err := netlink.LinkByIndex(rt.LinkIndex)
		if err != nil {
			return fmt.Errorf("looking up route device %d: %w", rt.LinkIndex, err)
		}
		out = l.Attrs().Name == dev
		return nil
	}
	if netns == nil {
		return out, do()
	}
	err := netns.Do(func(ns.NetNS) error { return do() })
	return out, err
}
