package bgp

import (
	"fmt"
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
)

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// unicastPath is p with next hop nh as a gobgp path: IPv4 with the NEXT_HOP
// attribute, IPv6 in MP_REACH_NLRI (RFC 4760), origin IGP.
// Equivalent to: `gobgp global rib add -a ipv4 10.244.1.0/24 nexthop 192.168.1.2`.
func unicastPath(p netip.Prefix, nh netip.Addr) (*api.Path, error) {
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var nlri bgp.AddrPrefixInterface
	if p.Addr().Is4() {
		nlri = bgp.NewIPAddrPrefix(uint8(p.Bits()), p.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeNextHop(nh.String()))
	} else {
		nlri = bgp.NewIPv6AddrPrefix(uint8(p.Bits()), p.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI(nh.String(), []bgp.AddrPrefixInterface{nlri}))
	}
	path, err := apiutil.NewPath(nlri, false, attrs, time.Now())
	if err != nil {
		return nil, fmt.Errorf("building the BGP path for %s via %s: %w", p, nh, err)
	}
	return path, nil
}

// routeOf reads a learnt gobgp path back as a prefix and its next hop.
func routeOf(peer netip.Addr, path *api.Path) (bgptypes.Route, error) {
	nlri, err := apiutil.GetNativeNlri(path)
	if err != nil {
		return bgptypes.Route{}, fmt.Errorf("decoding NLRI from %s: %w", peer, err)
	}
	prefix, err := netip.ParsePrefix(nlri.String())
	if err != nil {
		return bgptypes.Route{}, fmt.Errorf("NLRI %q from %s: %w", nlri, peer, err)
	}
	attrs, err := apiutil.GetNativePathAttributes(path)
	if err != nil {
		return bgptypes.Route{}, fmt.Errorf("decoding attributes of %s from %s: %w", prefix, peer, err)
	}
	rt := bgptypes.Route{Prefix: prefix, Peer: peer}
	for _, a := range attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			rt.NextHop, _ = netip.AddrFromSlice(a.Value)
		case *bgp.PathAttributeMpReachNLRI:
			rt.NextHop, _ = netip.AddrFromSlice(a.Nexthop)
		}
	}
	rt.NextHop = rt.NextHop.Unmap()
	return rt, nil
}
