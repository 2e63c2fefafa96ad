package peers

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernel performs and counts the netlink calls of a Converger.
type kernel struct {
	h             *netlink.Handle
	writes, reads atomic.Uint64
	nanos         atomic.Int64 // time spent in netlink calls
}

// timed adds the time since start to the netlink time.
func (k *kernel) timed(start time.Time) { k.nanos.Add(int64(time.Since(start))) }

// matches says whether the kernel object have satisfies want.
func matches(want, have entry) bool {
	if want.link == 0 {
		have.link = 0 // the kernel resolved the device itself
	}
	return want == have
}

func ip(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: ip(p.Addr()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func nlFamily(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func (e entry) route() *netlink.Route {
	r := &netlink.Route{
		LinkIndex: e.link,
		Dst:       ipNet(e.dst),
		Gw:        ip(e.ip),
		Protocol:  RouteProtocol,
		Table:     unix.RT_TABLE_MAIN,
		Family:    nlFamily(e.dst.Addr()),
	}
	if e.onlink {
		r.Flags = int(netlink.FLAG_ONLINK)
	}
	return r
}

func (e entry) neigh() *netlink.Neigh {
	n := &netlink.Neigh{
		LinkIndex:    e.link,
		IP:           ip(e.ip),
		HardwareAddr: net.HardwareAddr(e.mac[:]),
		State:        netlink.NUD_PERMANENT,
	}
	if e.kind == kindFDB {
		n.Family = unix.AF_BRIDGE
		n.Flags = netlink.NTF_SELF
	} else {
		n.Family = nlFamily(e.ip)
		n.Type = unix.RTN_UNICAST
	}
	return n
}

// upsert adds or replaces e.
// Equivalent to: bridge fdb replace / ip neigh replace / ip route replace.
func (k *kernel) upsert(e entry) error {
	k.writes.Add(1)
	defer k.timed(time.Now())
	var err error
	if e.kind == kindRoute {
		err = k.h.RouteReplace(e.route())
	} else {
		err = k.h.NeighSet(e.neigh())
	}
	if err != nil {
		return fmt.Errorf("replacing %s: %w", e, err)
	}
	return nil
}

// remove deletes e; an entry (or device) already gone is success.
// Equivalent to: bridge fdb del / ip neigh del / ip route del.
func (k *kernel) remove(e entry) error {
	k.writes.Add(1)
	defer k.timed(time.Now())
	var err error
	if e.kind == kindRoute {
		err = k.h.RouteDel(e.route())
	} else {
		err = k.h.NeighDel(e.neigh())
	}
	if err != nil && !gone(err) {
		return fmt.Errorf("deleting %s: %w", e, err)
	}
	return nil
}

func gone(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV)
}

// read returns our objects in the kernel: routes with RouteProtocol in the
// main table, and permanent FDB entries and neighbours on the given VXLAN
// devices.
// Equivalent to: ip route show proto 0x4f; bridge fdb show dev oo-vxlan4;
// ip neigh show dev oo-vxlan4 nud permanent.
func (k *kernel) read(vxlanLinks []int) (map[key]entry, error) {
	defer k.timed(time.Now())
	have := make(map[key]entry)
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		if err := k.readRoutes(fam, have); err != nil {
			return nil, err
		}
	}
	for _, link := range vxlanLinks {
		for _, fam := range []int{unix.AF_BRIDGE, unix.AF_INET, unix.AF_INET6} {
			if err := k.readNeighs(link, fam, have); err != nil {
				return nil, err
			}
		}
	}
	return have, nil
}

func (k *kernel) readRoutes(fam int, have map[key]entry) error {
	k.reads.Add(1)
	filter := &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}
	routes, err := netlinksafe.Handle{Handle: k.h}.RouteListFiltered(fam, filter,
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("listing proto %#x routes: %w", RouteProtocol, err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		dst, ok := netaddr.PrefixOf(r.Dst)
		gw, ok2 := netip.AddrFromSlice(r.Gw)
		if !ok || !ok2 {
			continue // multipath or odd: not ours to parse; Cleanup removes it
		}
		e := entry{kind: kindRoute, dst: dst, ip: gw.Unmap(), link: r.LinkIndex,
			onlink: r.Flags&int(netlink.FLAG_ONLINK) != 0}
		have[e.key()] = e
	}
	return nil
}

// readNeighs reads permanent entries with an IP on link: for AF_BRIDGE the
// VXLAN FDB (its own multicast/unicast address entries carry no IP).
func (k *kernel) readNeighs(link, fam int, have map[key]entry) error {
	var list []netlink.Neigh
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		k.reads.Add(1)
		list, err = k.h.NeighList(link, fam)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return fmt.Errorf("listing neighbours (family %d) on %d: %w", fam, link, err)
	}
	for _, n := range list {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || n.State&netlink.NUD_PERMANENT == 0 || len(n.HardwareAddr) != 6 || n.LinkIndex != link {
			continue
		}
		e := entry{kind: kindNeigh, link: link, ip: a.Unmap()}
		if fam == unix.AF_BRIDGE {
			e.kind = kindFDB
		}
		copy(e.mac[:], n.HardwareAddr)
		have[e.key()] = e
	}
	return nil
}
