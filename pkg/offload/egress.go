package offload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EgressTo resolves the egress towards peer in netns (nil: the calling
// thread's namespace).
// Equivalent to: `ip route get PEER`, `ip route get fibmatch PEER`, then
// `ip -d link show` and `ethtool -k` for each hop's device and below.
func EgressTo(netns ns.NetNS, peer net.IP) (*Egress, error) {
	return NewEgressCache().To(netns, peer)
}

// EgressCache resolves egresses towards many peers: the route lookup is
// per peer, but the walk below the hops' devices (a link dump and ethtool
// reads per device) is shared by every peer with the same hops, so 1000
// peers behind one gateway cost one walk. Not safe for concurrent use;
// drop it when devices may have changed (a resync).
type EgressCache struct {
	walks  map[string]walked
	links  map[int]netlink.Link
	tables map[[2]int][]netlink.Route
}

type walked struct {
	path    []Device
	mtu     int
	verdict Verdict
}

// NewEgressCache returns an empty cache.
func NewEgressCache() *EgressCache {
	return &EgressCache{walks: map[string]walked{}, links: map[int]netlink.Link{}, tables: map[[2]int][]netlink.Route{}}
}

// To is EgressTo through the cache.
func (c *EgressCache) To(netns ns.NetNS, peer net.IP) (*Egress, error) {
	var e *Egress
	err := inNetns(netns, func() error {
		var err error
		e, err = c.egressTo(peer)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("egress towards %s: %w", peer, err)
	}
	return e, nil
}

func (c *EgressCache) egressTo(peer net.IP) (*Egress, error) {
	rt, err := routeTo(peer)
	if err != nil {
		return nil, err
	}
	chosen, err := c.hopOf(rt.LinkIndex, rt.Gw)
	if err != nil {
		return nil, err
	}
	e := &Egress{Peer: peer, Hop: chosen, Source: rt.Src, Table: rt.Table}
	if e.Hops, err = c.allHops(peer, chosen); err != nil {
		return nil, err
	}
	w, err := c.walk(peer, e.Hops)
	if err != nil {
		return nil, err
	}
	e.MTU, e.Verdict = w.mtu, w.verdict
	if rt.MTU > 0 && rt.MTU < e.MTU {
		e.MTU = rt.MTU
	}
	e.Path = &Path{Dest: peer, Gateway: chosen.Gateway, Source: rt.Src, OnLink: chosen.OnLink, Egress: chosen.Device, Devices: w.path}
	return e, nil
}

// walk reads the devices below every hop, once per distinct hop set. A
// bridge follows its FDB towards the next hop, so an on-link peer behind a
// bridge keys its own walk.
func (c *EgressCache) walk(peer net.IP, hops []Hop) (walked, error) {
	var key strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&key, "%d/%s;", h.Index, h.Gateway)
		if h.Gateway == nil && h.Kind == "bridge" {
			key.WriteString(peer.String())
		}
	}
	if w, ok := c.walks[key.String()]; ok {
		return w, nil
	}
	r, err := newEthtoolReader()
	if err != nil {
		return walked{}, err
	}
	defer r.Close()
	wk := &walker{r: r, seen: map[int]bool{}}
	var w walked
	for _, h := range hops {
		l, err := c.link(h.Index)
		if err != nil {
			return walked{}, err
		}
		if w.mtu == 0 || l.Attrs().MTU < w.mtu {
			w.mtu = l.Attrs().MTU
		}
		wk.nexthop = h.Gateway
		if wk.nexthop == nil {
			wk.nexthop = peer
		}
		wk.visit(l, RelEgress, "", "")
	}
	w.path = wk.devs
	w.verdict = VerdictOf(&Path{Devices: w.path})
	c.walks[key.String()] = w
	return w, nil
}

func (c *EgressCache) link(index int) (netlink.Link, error) {
	if l, ok := c.links[index]; ok {
		return l, nil
	}
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return nil, fmt.Errorf("looking up route device %d: %w", index, err)
	}
	c.links[index] = l
	return l, nil
}

// allHops lists the next hops of the route that matched peer, the chosen
// one first; a route without multipath has only the chosen one.
// Equivalent to: `ip route get fibmatch PEER`.
func (c *EgressCache) allHops(peer net.IP, chosen Hop) ([]Hop, error) {
	routes, err := netlink.RouteGetWithOptions(peer, &netlink.RouteGetOptions{FIBMatch: true})
	if err != nil || len(routes) == 0 || len(routes[0].MultiPath) < 2 {
		return []Hop{chosen}, nil //nolint:nilerr // fibmatch is an extra: the chosen hop stands alone
	}
	out := []Hop{chosen}
	for _, nh := range routes[0].MultiPath {
		if nh.LinkIndex == chosen.Index && nh.Gw.Equal(chosen.Gateway) {
			continue
		}
		h, err := c.hopOf(nh.LinkIndex, nh.Gw)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func (c *EgressCache) hopOf(index int, gw net.IP) (Hop, error) {
	l, err := c.link(index)
	if err != nil {
		return Hop{}, err
	}
	h := Hop{Device: l.Attrs().Name, Index: index, Kind: linkKind(l)}
	if len(gw) > 0 && !gw.IsUnspecified() {
		h.Gateway = gw
	}
	h.OnLink = h.Gateway == nil && isL2(l)
	return h, nil
}

// ErrNotCarried is wrapped by Carries' explanation when no route other than
// the ignored protocol's covers the prefix.
var ErrNotCarried = errors.New("no route covers the prefix")

// Carries reports whether this node's own routes (every protocol but
// ignore, the agent's; a default route counts) send prefix out the way
// they send the peer node IP: the longest route covering the whole prefix,
// in the table the peer's lookup ended in, leaves by one of e's hop
// devices. That is "the underlay carries the peer's pod CIDR" (decision
// rules 2 and 3): pods then reach the peer's pods over the same path as
// the node.
// Equivalent to: `ip route show table T` and a longest-prefix match.
func Carries(netns ns.NetNS, e *Egress, prefix netip.Prefix, ignore netlink.RouteProtocol) (bool, error) {
	ok, _, err := NewEgressCache().Carries(netns, e, prefix, ignore)
	return ok, err
}

// Carries is the package's Carries with the table's routes read once per
// cache (one dump for every peer, not one per peer); byDefault says the
// carrying route is a default route (no route names the prefix).
func (c *EgressCache) Carries(netns ns.NetNS, e *Egress, prefix netip.Prefix, ignore netlink.RouteProtocol) (carries, byDefault bool, err error) {
	var out bool
	err = inNetns(netns, func() error {
		routes, err := c.table(e.Table, prefix.Addr().Is6())
		if err != nil {
			return err
		}
		rt := coveringRoute(routes, prefix, ignore)
		out = rt != nil && leavesBy(rt, e.Hops)
		if out {
			byDefault = isDefault(rt)
		}
		return nil
	})
	if err != nil {
		return false, false, fmt.Errorf("does the route to %s carry %s: %w", e.Peer, prefix, err)
	}
	return out, byDefault, nil
}

// table lists a routing table's routes of one family, once per cache.
// Equivalent to: `ip [-6] route show table T`.
func (c *EgressCache) table(table int, v6 bool) ([]netlink.Route, error) {
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	fam := netlink.FAMILY_V4
	if v6 {
		fam = netlink.FAMILY_V6
	}
	k := [2]int{table, fam}
	if rs, ok := c.tables[k]; ok {
		return rs, nil
	}
	routes, err := netlinksafe.RouteListFiltered(fam, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("listing routes of table %d: %w", table, err)
	}
	c.tables[k] = routes
	return routes, nil
}

// coveringRoute is the longest unicast route covering all of prefix
// (lowest metric on a tie), nil when none.
func coveringRoute(routes []netlink.Route, prefix netip.Prefix, ignore netlink.RouteProtocol) *netlink.Route {
	var best *netlink.Route
	bestBits := -1
	for i := range routes {
		rt := &routes[i]
		if rt.Protocol == ignore || (rt.Type != 0 && rt.Type != unix.RTN_UNICAST) {
			continue
		}
		bits, ok := covers(rt.Dst, prefix)
		if !ok {
			continue
		}
		if bits > bestBits || (bits == bestBits && rt.Priority < best.Priority) {
			best, bestBits = rt, bits
		}
	}
	return best
}

// covers reports whether dst (nil: default) contains all of prefix, and
// dst's length.
func covers(dst *net.IPNet, prefix netip.Prefix) (int, bool) {
	if dst == nil {
		return 0, true
	}
	a, ok := netip.AddrFromSlice(dst.IP)
	if !ok {
		return 0, false
	}
	ones, _ := dst.Mask.Size()
	d := netip.PrefixFrom(a.Unmap(), ones)
	if d.Addr().Is4() != prefix.Addr().Is4() {
		return 0, false
	}
	return ones, ones <= prefix.Bits() && d.Contains(prefix.Addr())
}

// leavesBy reports whether rt (or one of its next hops) leaves by one of
// hops' devices.
func leavesBy(rt *netlink.Route, hops []Hop) bool {
	on := func(idx int) bool {
		for _, h := range hops {
			if h.Index == idx {
				return true
			}
		}
		return false
	}
	if rt.LinkIndex != 0 {
		return on(rt.LinkIndex)
	}
	for _, nh := range rt.MultiPath {
		if on(nh.LinkIndex) {
			return true
		}
	}
	return false
}

// inNetns runs f in netns (nil: here).
func inNetns(netns ns.NetNS, f func() error) error {
	if netns == nil {
		return f()
	}
	return netns.Do(func(ns.NetNS) error { return f() })
}
