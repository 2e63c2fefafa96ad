package offload

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoRoute is returned when no route leads to the destination (or, with no
// destination, when there is no default route).
var ErrNoRoute = errors.New("no route")

// Target says which path to inspect: the route to Dest, the default route
// when Dest is nil; Iface, when set, names the device to walk from instead
// of the route's output device (the route still says on-link or not).
type Target struct {
	Dest  net.IP
	Iface string
	// Via, with Iface and no Dest, is the next hop a bridge on the path
	// forwards towards (the uplink's default gateway): the walk then follows
	// the port the bridge's FDB names for it instead of every port, as the
	// kernel does (a guest's port without tunnel segmentation on the same
	// bridge is not on the path to the peers).
	Via net.IP
}

// resolvePath finds the egress device for t in the current network namespace
// and walks the device stack below it.
func resolvePath(r *ethtoolReader, t Target) (*Path, error) {
	rt, err := routeFor(t)
	if err != nil {
		return nil, err
	}
	egress, err := egressFor(t, rt)
	if err != nil {
		return nil, err
	}
	p := &Path{Dest: t.Dest, Egress: egress.Attrs().Name}
	if rt != nil {
		p.Gateway, p.Source = rt.Gw, rt.Src
	}
	// On-link only means something towards a destination (the default
	// route's gateway says nothing about where peers are), and an L3 device
	// (tun, wireguard, ipip, gre) reaches it without a gateway but not on
	// the same L2.
	p.OnLink = t.Dest != nil && p.Gateway == nil && isL2(egress)
	w := &walker{r: r, seen: map[int]bool{}, nexthop: p.Gateway}
	if w.nexthop == nil {
		w.nexthop = t.Dest
	}
	if w.nexthop == nil {
		w.nexthop = t.Via
	}
	w.visit(egress, RelEgress, "", "")
	p.Devices = w.devs
	return p, nil
}

// routeFor is the route towards t.Dest, the default route without one, or
// nil when only a device is named.
func routeFor(t Target) (*netlink.Route, error) {
	switch {
	case t.Dest != nil:
		return routeTo(t.Dest)
	case t.Iface == "":
		return defaultRoute()
	}
	return nil, nil
}

// egressFor is the device the walk starts from: the named one (the operator
// knows the uplink, even when the route says otherwise) or the route's.
func egressFor(t Target, rt *netlink.Route) (netlink.Link, error) {
	if t.Iface != "" {
		l, err := netlinksafe.LinkByName(t.Iface)
		if err != nil {
			return nil, fmt.Errorf("looking up device %q: %w", t.Iface, err)
		}
		return l, nil
	}
	l, err := netlink.LinkByIndex(rt.LinkIndex)
	if err != nil {
		return nil, fmt.Errorf("looking up route device %d: %w", rt.LinkIndex, err)
	}
	return l, nil
}

// routeTo asks the kernel which route it would use towards dst.
// Equivalent to: `ip route get DST`.
func routeTo(dst net.IP) (*netlink.Route, error) {
	routes, err := netlink.RouteGet(dst)
	if err != nil {
		return nil, fmt.Errorf("ip route get %s: %w: %w", dst, ErrNoRoute, err)
	}
	if len(routes) == 0 || routes[0].LinkIndex == 0 {
		return nil, fmt.Errorf("ip route get %s: %w", dst, ErrNoRoute)
	}
	return &routes[0], nil
}

// defaultRoute returns the IPv4 default route with the lowest metric, or the
// IPv6 one when there is no IPv4 default. Equivalent to: `ip route show default`.
func defaultRoute() (*netlink.Route, error) {
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: 254}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		var best *netlink.Route
		for i := range routes {
			rt := &routes[i]
			if !isDefault(rt) || rt.LinkIndex == 0 {
				continue
			}
			if best == nil || rt.Priority < best.Priority {
				best = rt
			}
		}
		if best != nil {
			return best, nil
		}
	}
	return nil, fmt.Errorf("no default route (name a peer or a device): %w", ErrNoRoute)
}

// isL2 reports whether l carries Ethernet frames (`link/ether` in `ip link`).
func isL2(l netlink.Link) bool {
	return l.Attrs().EncapType == "ether" || l.Attrs().EncapType == ""
}

func isDefault(rt *netlink.Route) bool {
	if rt.Dst == nil {
		return true
	}
	ones, _ := rt.Dst.Mask.Size()
	return ones == 0
}

// walker visits each device once, depth first, recording the stack.
type walker struct {
	r    *ethtoolReader
	seen map[int]bool
	devs []Device
	// nexthop is the gateway or the on-link destination (nil: unknown); a
	// bridge forwards towards it through the port its FDB names.
	nexthop net.IP
}

func (w *walker) visit(l netlink.Link, rel Relation, via, note string) {
	a := l.Attrs()
	if w.seen[a.Index] {
		return
	}
	w.seen[a.Index] = true
	d := readDevice(w.r, l, rel, via)
	d.Note = note
	if rel == RelPort && isTap(l) {
		// A tap bridge port is a VM's or container's NIC, not a VPN.
		d.Tunnel = ""
	}
	pos := len(w.devs)
	w.devs = append(w.devs, d)

	if m := w.master(l); m != nil {
		w.devs[pos].Master = m.Attrs().Name
		// A VRF routes the packet a second time through its own device,
		// which advertises no tunnel segmentation: it is on the path.
		if m.Type() == "vrf" {
			w.visit(m, RelMaster, a.Name, "")
		}
	}
	var lower []string
	for _, low := range w.lower(l, rel) {
		lower = append(lower, low.link.Attrs().Name)
		w.visit(low.link, low.rel, a.Name, low.note)
	}
	w.devs[pos].Lower = lower
}

type lowerLink struct {
	link netlink.Link
	rel  Relation
	note string
}

func (w *walker) master(l netlink.Link) netlink.Link {
	if l.Attrs().MasterIndex == 0 {
		return nil
	}
	m, err := netlink.LinkByIndex(l.Attrs().MasterIndex)
	if err != nil {
		return nil
	}
	return m
}

// lower returns the devices a packet leaves l by; rel is how l was reached.
func (w *walker) lower(l netlink.Link, rel Relation) []lowerLink {
	a := l.Attrs()
	switch l.Type() {
	case "bridge":
		if port := w.fdbPort(l); port != nil {
			return []lowerLink{*port}
		}
		return w.enslaved(a.Index, RelPort)
	case "vrf":
		// Reached as a master, the VRF's other slaves are not on the path.
		if rel != RelEgress {
			return nil
		}
		return w.enslaved(a.Index, RelSlave)
	case "bond", "team":
		return w.enslaved(a.Index, RelSlave)
	case "macvlan", "macvtap", "ipvlan", "ipvtap", "vlan":
		// ParentIndex is only meaningful when the parent is in this
		// namespace (no IFLA_LINK_NETNSID).
		if a.ParentIndex == 0 || a.NetNsID >= 0 {
			return nil
		}
		return w.byIndex(a.ParentIndex, RelParent)
	}
	if idx, remote := tunnelUnderlay(l); idx != 0 {
		return w.byIndex(idx, RelLower)
	} else if remote != nil && !remote.IsMulticast() && !remote.IsUnspecified() {
		if rt, err := routeTo(remote); err == nil {
			return w.byIndex(rt.LinkIndex, RelLower)
		}
	}
	// veth passes super-packets to its peer (often in another namespace);
	// wireguard and tun hand them to their own crypto or to user space.
	return nil
}

func (w *walker) byIndex(idx int, rel Relation) []lowerLink {
	l, err := netlink.LinkByIndex(idx)
	if err != nil {
		return nil
	}
	return []lowerLink{{link: l, rel: rel}}
}

// enslaved lists the devices whose master is idx, sorted by name.
// Equivalent to: `ip link show master DEV`.
func (w *walker) enslaved(idx int, rel Relation) []lowerLink {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil
	}
	var out []lowerLink
	for _, l := range links {
		if l.Attrs().MasterIndex == idx {
			out = append(out, lowerLink{link: l, rel: rel})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].link.Attrs().Name < out[j].link.Attrs().Name })
	return out
}

// tunnelUnderlay returns the device a tunnel is bound to (its `dev`
// parameter) or else its remote endpoint, whose route names the device.
func tunnelUnderlay(l netlink.Link) (int, net.IP) {
	switch t := l.(type) {
	case *netlink.Vxlan:
		return t.VtepDevIndex, t.Group
	case *netlink.Geneve:
		return int(t.Link), t.Remote
	case *netlink.Iptun:
		return int(t.Link), t.Remote
	case *netlink.Sittun:
		return int(t.Link), t.Remote
	case *netlink.Gretun:
		return int(t.Link), t.Remote
	case *netlink.Gretap:
		return int(t.Link), t.Remote
	case *netlink.Ip6tnl:
		return int(t.Link), t.Remote
	}
	return 0, nil
}

// fdbPort returns the bridge port behind which the next hop's MAC address
// was learned (or configured), or nil when the next hop or its neighbour
// entry or FDB entry is unknown: then every port counts.
// Equivalent to: `ip neigh show NEXTHOP dev BR` and `bridge fdb show br BR`.
func (w *walker) fdbPort(br netlink.Link) *lowerLink {
	if w.nexthop == nil {
		return nil
	}
	fam := netlink.FAMILY_V4
	if w.nexthop.To4() == nil {
		fam = netlink.FAMILY_V6
	}
	neighs, err := netlink.NeighList(br.Attrs().Index, fam)
	if err != nil {
		return nil
	}
	var mac net.HardwareAddr
	for _, n := range neighs {
		if n.IP.Equal(w.nexthop) && len(n.HardwareAddr) > 0 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			mac = n.HardwareAddr
		}
	}
	if mac == nil {
		return nil
	}
	fdb, err := netlink.NeighList(0, unix.AF_BRIDGE)
	if err != nil {
		return nil
	}
	for _, f := range fdb {
		if f.MasterIndex != br.Attrs().Index || f.LinkIndex == br.Attrs().Index || f.HardwareAddr.String() != mac.String() {
			continue
		}
		port, err := netlink.LinkByIndex(f.LinkIndex)
		if err != nil {
			return nil
		}
		return &lowerLink{link: port, rel: RelPort, note: fmt.Sprintf("%s forwards to %s (%s) through this port (fdb)", br.Attrs().Name, w.nexthop, mac)}
	}
	return nil
}

// isTap reports whether l is a tun/tap device in tap (Ethernet) mode.
func isTap(l netlink.Link) bool {
	t, ok := l.(*netlink.Tuntap)
	return ok && t.Mode == netlink.TUNTAP_MODE_TAP
}
