package linux

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EnsureNode puts the probe address (first host address of each pod CIDR)
// on lo, adopts the VXLAN devices a previous agent left, and points the
// peer converger at them. It creates no tunnel device: the VXLAN device of
// a family (carrying this node's VTEP address of that family, see
// overlay.Config.Addr) is created lazily, by the first VXLAN path of that
// family (wantVXLAN), so a node with only native peers has none. The VTEP
// MACs it returns (overlay.VTEPMAC of each node IP) are the devices' MACs
// whether or not they exist yet, so peers can decide VXLAN before the
// first path. The resync repeats the device and address steps (repairNode).
func (k *kernel) EnsureNode(local datapath.LocalNode, up datapath.Uplink) (datapath.NodeSetup, error) {
	if k.conv == nil {
		// First call, before any probe runs: a probe route a killed agent
		// left would keep steering the peer's probe address natively.
		if err := k.removeProbeRoutes(); err != nil {
			return datapath.NodeSetup{}, err
		}
	}
	k.adoptDevices(local)
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
	local datapath.LocalNode
	up    datapath.Uplink
	links peers.Links
}

// adoptDevices marks the families whose VXLAN device already exists (an
// agent restart) as wanted, so the device keeps being repaired.
// Equivalent to: ip link show oo-vxlan4; ip link show oo-vxlan6
func (k *kernel) adoptDevices(local datapath.LocalNode) {
	for _, ip := range local.IPs {
		if _, err := k.h.LinkByName(overlay.DeviceName(overlay.KindVXLAN, netaddr.Family(ip))); err == nil {
			k.vxlanFams[netaddr.Index(ip)] = true
		}
	}
}

// wantVXLAN marks the families of paths' VXLAN paths as needing their
// device; changed says whether a family was new.
func (k *kernel) wantVXLAN(paths []datapath.Path) (changed bool) {
	for _, p := range paths {
		if p.Mode != decision.ModeVXLAN {
			continue
		}
		if i := netaddr.Index(p.PeerIP); !k.vxlanFams[i] {
			k.vxlanFams[i], changed = true, true
		}
	}
	return changed
}

// ensureDevices converges the VXLAN device of each wanted node-IP family
// and its VTEP address; it writes nothing when both are as wanted. Every
// family's VTEP MAC is returned, device or not.
func (k *kernel) ensureDevices(local datapath.LocalNode, up datapath.Uplink) (datapath.NodeSetup, peers.Links, error) {
	var setup datapath.NodeSetup
	links := peers.Links{Uplink4: up.Index, Uplink6: up.Index}
	for _, ip := range local.IPs {
		setup.VTEPMACs[netaddr.Index(ip)] = overlay.VTEPMAC(ip)
		if !k.vxlanFams[netaddr.Index(ip)] {
			continue
		}
		var vtep netip.Addr
		if c, ok := local.PodCIDR(netaddr.Family(ip)); ok {
			vtep = peers.VTEPAddr(c)
		}
		// Not bound to the uplink (no VXLAN "dev"): the outer packets
		// follow the kernel's route to each peer's node IP, which may leave
		// by another device than the one holding the node IP (a second
		// NIC, policy routing).
		dev, err := overlay.Ensure(k.h, overlay.Config{Kind: overlay.KindVXLAN, VNI: k.cfg.VNI, Port: k.cfg.Port,
			LocalIP: ip, MTU: up.MTU - overlay.Overhead(overlay.KindVXLAN, netaddr.Family(ip)), UDPCsum: netaddr.Family(ip) == 6, Addr: vtep})
		if err != nil {
			return setup, links, fmt.Errorf("ensuring VXLAN device for %s: %w", ip, err)
		}
		setup.VTEPMACs[netaddr.Index(ip)] = dev.MAC
		if netaddr.Family(ip) == 6 {
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
func (k *kernel) repairNode() error {
	if k.node == nil {
		return nil
	}
	if err := k.ensureProbeAddrs(k.node.local); err != nil {
		return err
	}
	return k.ensureLinks("tunnel device recreated; re-pointing peer paths")
}

// ensureLinks converges the wanted tunnel devices and, when one was
// (re)created, re-points the converger at the new links, logging why.
func (k *kernel) ensureLinks(why string) error {
	if k.node == nil {
		return nil
	}
	_, links, err := k.ensureDevices(k.node.local, k.node.up)
	if err != nil {
		return err
	}
	if links == k.node.links {
		return nil
	}
	k.cfg.Log.Warn(why, "vxlan4", links.VXLAN4, "vxlan6", links.VXLAN6)
	k.node.links = links
	if _, err := k.conv.SetLinks(links); err != nil {
		return fmt.Errorf("re-pointing peers at recreated devices: %w", err)
	}
	return nil
}

// ensureProbeAddrs puts the first host address of each pod CIDR on lo as
// a host address, so every node answers ICMP inside its own pod CIDR (the
// native probe's target; see pkg/agent/doc.go). Addresses already there are not
// rewritten (a restart makes no address change).
// Equivalent to: ip addr replace 10.244.1.1/32 dev lo
func (k *kernel) ensureProbeAddrs(local datapath.LocalNode) error {
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
	old := slices.Clone(k.loAddrs)
	k.loAddrs = k.loAddrs[:0]
	for _, c := range local.PodCIDRs {
		a := netaddr.Gateway(c)
		p := netip.PrefixFrom(a, a.BitLen())
		k.loAddrs = append(k.loAddrs, p)
		if hasAddr(have, p) {
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
		if netaddr.Family(a) == 6 {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := k.h.AddrReplace(lo, addr); err != nil {
			return fmt.Errorf("adding probe address %s to lo: %w", p, err)
		}
	}
	// A pod CIDR changed: the old probe address would keep answering for
	// a range another node may now own. Equivalent to: ip addr del $old dev lo
	for _, p := range old {
		if slices.Contains(k.loAddrs, p) || !hasAddr(have, p) {
			continue
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if err := k.h.AddrDel(lo, addr); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing old probe address %s from lo: %w", p, err)
		}
		k.cfg.Log.Info("old probe address removed (pod CIDR changed)", "addr", p)
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
