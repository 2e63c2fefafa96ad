package overlay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ensureAddr makes addr (when valid) the only address of its family on the
// tunnel device, as a host address, and writes nothing when it already is.
// Equivalent to:
//
//	ip addr add 10.244.1.0/32 dev oo-vxlan4
//	ip -6 addr add fd00:10:244:1::/128 dev oo-vxlan6 nodad noprefixroute
//	ip addr del <any other address of that family, link-local excepted> dev oo-vxlanN
//
// Why: traffic the node itself sends to a remote pod over VXLAN
// (hostNetwork pods, kubelet probes, kube-proxy's Service traffic) needs a
// source. With no address on the device the kernel borrows the first global
// address of any device, lo first: whatever is on lo (the agent's probe
// address, a load balancer's VIP), else the uplink's. The peer receives the
// uplink's on its VXLAN device, where the reverse route of that source is
// its uplink, and strict rp_filter (rp_filter=1) drops it.
//
// Why an address on the device and not `src` on every peer route:
//
//   - IPv4 picks a route's source from the addresses of the route's device
//     (inet_select_addr), so one /32 on oo-vxlan4 covers every peer route,
//     present and future, with no per-route attribute to keep in sync.
//   - IPv6 source selection prefers an address on the outgoing interface
//     (RFC 6724 rule 5) over the uplink's address of the same scope.
//   - MASQUERADE (kube-proxy's, for traffic leaving by oo-vxlanN) takes the
//     out device's address and ignores a route's src: only an address on
//     the device makes it predictable (flannel's flannel.1 has .0/32 too).
//   - The peer's reverse route for it is its route to our pod CIDR, which
//     leaves by its VXLAN device: rp_filter passes, the reply comes back.
//
// A route src would add nothing the address does not do, and it would cost
// a rewrite of every peer route on upgrade. Neither helps a node's traffic
// to a ClusterIP: its source is chosen for the ClusterIP's route (the
// uplink) before kube-proxy's DNAT sends it into the tunnel, so it reaches
// the peer with the VTEP address only because kube-proxy masquerades
// sources outside its --cluster-cidr (MASQUERADE then picks the address). The address is unique by
// construction (pod CIDRs do not overlap) and never given to a pod (it is
// the CIDR's network address), hence nodad (DAD would keep it tentative,
// unusable as a source, for a second); noprefixroute keeps a /128 out of the
// main table (the local table delivers it; the agent's route monitor would
// take a main-table route for an underlay change). Deleting the device
// removes the address.
//
// Ordering: the new address is added before a stale one (an old pod CIDR)
// is removed, because deleting a device's last IPv4 address makes the
// kernel flush every route and neighbour on that device (fib_disable_ip),
// permanent ones included: all VXLAN peers would be cut off until the
// agent's next resync re-adds them. For the same reason an operator must
// not delete the address by hand (the agent's next resync restores the
// address, then the peers).
func ensureAddr(h *netlink.Handle, link netlink.Link, addr netip.Addr) error {
	if !addr.IsValid() {
		return nil
	}
	addr = addr.Unmap()
	fam := netlink.FAMILY_V4
	if addr.Is6() {
		fam = netlink.FAMILY_V6
	}
	name := link.Attrs().Name
	have, err := h.AddrList(link, fam)
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", name, err)
	}
	var stale []netlink.Addr
	found := false
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		switch {
		case ip.Unmap() == addr && ones == addr.BitLen() && a.Flags&unix.IFA_F_DADFAILED == 0:
			found = true
		case ip.IsLinkLocalUnicast(): // the kernel's own fe80::/64
		default:
			stale = append(stale, a)
		}
	}
	if !found {
		want := &netlink.Addr{IPNet: &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(addr.BitLen(), addr.BitLen())}}
		if addr.Is6() {
			want.Flags = unix.IFA_F_NODAD | unix.IFA_F_NOPREFIXROUTE
		}
		if err := h.AddrReplace(link, want); err != nil {
			return fmt.Errorf("adding VTEP address %s to %s: %w", addr, name, err)
		}
	}
	for _, a := range stale { // after the add: see the ordering note above
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing stale address %s from %s: %w", a.IPNet, name, err)
		}
	}
	return nil
}
