package topo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// addVeth creates a veth pair with one end in each namespace ("" = the host
// namespace), both ends up. Equivalent to:
// `ip -n $ns1 link add $name1 mtu $mtu type veth peer name $name2 netns $ns2`.
func addVeth(ns1, name1, ns2, name2 string, mtu int) error {
	h1, err := handleOrHost(ns1)
	if err != nil {
		return err
	}
	defer h1.Close()
	peerNS, err := nsHandleOrHost(ns2)
	if err != nil {
		return err
	}
	defer peerNS.Close()
	v := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: name1, MTU: mtu},
		PeerName:      name2,
		PeerNamespace: netlink.NsFd(int(peerNS)),
		PeerMTU:       uint32(mtu),
	}
	if err := h1.LinkAdd(v); err != nil {
		return fmt.Errorf("creating veth %s (%s) <-> %s (%s): %w", name1, nsLabel(ns1), name2, nsLabel(ns2), err)
	}
	if err := linkUp(ns1, name1); err != nil {
		return err
	}
	return linkUp(ns2, name2)
}

// addBridge creates a bridge in a namespace. Equivalent to:
// `ip -n $ns link add $name type bridge && ip -n $ns link set $name up`.
func addBridge(nsName, name string) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := h.LinkAdd(br); err != nil {
		return fmt.Errorf("creating bridge %s in %s: %w", name, nsName, err)
	}
	return linkUp(nsName, name)
}

// setMaster enslaves port to bridge. Equivalent to:
// `ip -n $ns link set $port master $bridge`.
func setMaster(nsName, port, bridge string) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	p, err := h.LinkByName(port)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", port, nsName, err)
	}
	b, err := h.LinkByName(bridge)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", bridge, nsName, err)
	}
	if err := h.LinkSetMaster(p, b); err != nil {
		return fmt.Errorf("attaching %s to %s in %s: %w", port, bridge, nsName, err)
	}
	return nil
}

// addVXLAN creates a VXLAN device over lower with static flooding to remotes
// (learning on, like a small cloud fabric). Equivalent to:
// `ip link add $name mtu $mtu type vxlan id $vni dstport $port local $local dev $lower`
// then `bridge fdb append 00:00:00:00:00:00 dev $name dst $remote` per remote.
func addVXLAN(nsName, name, lower string, vni, port, mtu int, local netip.Addr, remotes []netip.Addr) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	low, err := h.LinkByName(lower)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", lower, nsName, err)
	}
	vx := &netlink.Vxlan{
		LinkAttrs:    netlink.LinkAttrs{Name: name, MTU: mtu},
		VxlanId:      vni,
		VtepDevIndex: low.Attrs().Index,
		SrcAddr:      net.IP(local.AsSlice()),
		Port:         port,
		Learning:     true,
	}
	if err := h.LinkAdd(vx); err != nil {
		return fmt.Errorf("creating vxlan %s in %s: %w", name, nsName, err)
	}
	for _, r := range remotes {
		n := &netlink.Neigh{
			LinkIndex:    vx.Attrs().Index,
			Family:       unix.AF_BRIDGE,
			State:        netlink.NUD_PERMANENT,
			Flags:        netlink.NTF_SELF,
			IP:           net.IP(r.AsSlice()),
			HardwareAddr: net.HardwareAddr{0, 0, 0, 0, 0, 0},
		}
		if err := h.NeighAppend(n); err != nil {
			return fmt.Errorf("flood entry %s -> %s in %s: %w", name, r, nsName, err)
		}
	}
	return linkUp(nsName, name)
}

// linkUp sets a link up. Equivalent to: `ip -n $ns link set $name up`.
func linkUp(nsName, name string) error {
	h, err := handleOrHost(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", name, nsLabel(nsName), err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("setting %s up in %s: %w", name, nsLabel(nsName), err)
	}
	return nil
}

// addAddr assigns an address (no IPv6 duplicate address detection: the lab
// owns every address, and DAD would delay the link by a second). Equivalent
// to: `ip -n $ns addr add $prefix dev $dev nodad`.
func addAddr(nsName, dev string, p netip.Prefix) error {
	h, err := handleOrHost(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", dev, nsLabel(nsName), err)
	}
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	if err := h.AddrAdd(l, a); err != nil {
		return fmt.Errorf("adding %s to %s in %s: %w", p, dev, nsLabel(nsName), err)
	}
	return nil
}

// addRoute adds dst via gw (gw may be invalid for a device route), in table
// (0 = main). Equivalent to: `ip -n $ns route replace $dst via $gw [table $t]`.
func addRoute(nsName string, dst netip.Prefix, gw netip.Addr, table int) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	r := &netlink.Route{Dst: ipNet(dst.Masked()), Table: table}
	if gw.IsValid() {
		r.Gw = net.IP(gw.AsSlice())
	}
	if err := h.RouteReplace(r); err != nil {
		return fmt.Errorf("route %s via %s in %s: %w", dst, gw, nsName, err)
	}
	return nil
}

// addIifRule sends packets arriving on iif to table. Equivalent to:
// `ip -n $ns rule add iif $iif lookup $table` (per family).
func addIifRule(nsName, iif string, table, family int) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	r := netlink.NewRule()
	r.IifName = iif
	r.Table = table
	r.Family = family
	r.Priority = 100
	if err := h.RuleAdd(r); err != nil && !errors.Is(err, syscall.EEXIST) {
		return fmt.Errorf("rule iif %s lookup %d in %s: %w", iif, table, nsName, err)
	}
	return nil
}

// setTunnelOffload turns tx-udp_tnl-segmentation and
// tx-udp_tnl-csum-segmentation on or off. Equivalent to:
// `ip netns exec $ns ethtool -K $dev tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off`.
func setTunnelOffload(nsName, dev string, on bool) error {
	return Do(nsName, func() error {
		e, err := ethtool.NewEthtool()
		if err != nil {
			return fmt.Errorf("ethtool in %s: %w", nsName, err)
		}
		defer e.Close()
		want := map[string]bool{"tx-udp_tnl-segmentation": on, "tx-udp_tnl-csum-segmentation": on}
		if err := e.Change(dev, want); err != nil {
			return fmt.Errorf("ethtool -K %s %v in %s: %w", dev, want, nsName, err)
		}
		got, err := e.Features(dev)
		if err != nil {
			return fmt.Errorf("reading features of %s in %s: %w", dev, nsName, err)
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("%s on %s in %s stayed %v", k, dev, nsName, got[k])
			}
		}
		return nil
	})
}

func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

func handleOrHost(nsName string) (*netlink.Handle, error) {
	if nsName == "" {
		return netlink.NewHandle()
	}
	return Handle(nsName)
}

func nsHandleOrHost(nsName string) (netns.NsHandle, error) {
	if nsName == "" {
		h, err := netns.GetFromPid(os.Getpid())
		if err != nil {
			return h, fmt.Errorf("opening host netns: %w", err)
		}
		return h, nil
	}
	h, err := netns.GetFromName(nsName)
	if err != nil {
		return h, fmt.Errorf("opening netns %s: %w", nsName, err)
	}
	return h, nil
}

func nsLabel(nsName string) string {
	if nsName == "" {
		return "host netns"
	}
	return "netns " + nsName
}

// setBigTCP sets gso_max_size, gro_max_size and their IPv4 variants.
// Equivalent to: `ip -n $ns link set $dev gso_max_size $n gro_max_size $n gso_ipv4_max_size $n gro_ipv4_max_size $n`.
func setBigTCP(nsName, dev string, size int) error {
	h, err := Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", dev, nsName, err)
	}
	for _, f := range []struct {
		set  func(netlink.Link, int) error
		what string
	}{{h.LinkSetGSOMaxSize, "gso_max_size"}, {h.LinkSetGROMaxSize, "gro_max_size"},
		{h.LinkSetGSOIPv4MaxSize, "gso_ipv4_max_size"}, {h.LinkSetGROIPv4MaxSize, "gro_ipv4_max_size"}} {
		if err := f.set(l, size); err != nil {
			return fmt.Errorf("%s %s %d in %s: %w", dev, f.what, size, nsName, err)
		}
	}
	return nil
}

// addRouteHost adds dst via gw over the lab's own host link dev in the host
// namespace (the route goes with the link). Equivalent to:
// `ip route replace $dst via $gw dev $dev`.
func addRouteHost(dev string, dst netip.Prefix, gw netip.Addr) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("finding %s in the host netns: %w", dev, err)
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(dst.Masked()), Gw: net.IP(gw.AsSlice())}
	if err := h.RouteReplace(r); err != nil {
		return fmt.Errorf("host route %s via %s dev %s: %w", dst, gw, dev, err)
	}
	return nil
}
