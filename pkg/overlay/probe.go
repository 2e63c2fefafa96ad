package overlay

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
)

// Supported reports whether the kernel can create devices of kind, by
// creating and deleting a throwaway device named "oo-probe-<kind>" (device
// types are not listed anywhere else; a monolithic kernel has no modules to
// look at). It returns false, nil for "Unknown device type" (EOPNOTSUPP) and
// an error for anything else (e.g. missing CAP_NET_ADMIN).
// Equivalent to: ip link add oo-probe-vxlan type vxlan id 1 dstport 4789 && ip link del oo-probe-vxlan
func Supported(h *netlink.Handle, kind Kind) (bool, error) {
	if h == nil {
		h = &netlink.Handle{}
	}
	name := NamePrefix + "probe-" + string(kind)
	attrs := netlink.LinkAttrs{Name: name}
	var link netlink.Link
	switch kind {
	case KindVXLAN:
		link = &netlink.Vxlan{LinkAttrs: attrs, VxlanId: 1, Port: DefaultVXLANPort}
	case KindGeneve:
		link = &netlink.Geneve{LinkAttrs: attrs, FlowBased: true, Dport: DefaultGenevePort}
	default:
		return false, fmt.Errorf("unknown tunnel kind %q", kind)
	}
	_ = Teardown(h, name) // left over from an interrupted probe
	if _, err := create(h, link); err != nil {
		if errors.Is(err, ErrUnsupported) {
			return false, nil
		}
		return false, err
	}
	return true, Teardown(h, name)
}

// SupportedKinds lists the tunnel kinds the kernel can create, VXLAN first.
func SupportedKinds(h *netlink.Handle) ([]Kind, error) {
	var kinds []Kind
	for _, k := range []Kind{KindVXLAN, KindGeneve} {
		ok, err := Supported(h, k)
		if err != nil {
			return kinds, fmt.Errorf("probing %s: %w", k, err)
		}
		if ok {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}
