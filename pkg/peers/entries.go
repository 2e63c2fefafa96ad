package peers

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
)

// kind is a kernel object type; the order is the order of additions.
type kind uint8

const (
	kindFDB   kind = iota // bridge fdb entry on a VXLAN device
	kindNeigh             // permanent neighbour on a VXLAN device
	kindRoute             // route to a peer pod CIDR, proto RouteProtocol
)

func (k kind) String() string {
	return [...]string{"fdb", "neigh", "route"}[k]
}

// entry is one kernel object we own. It is comparable: == means "the kernel
// already has exactly this".
type entry struct {
	kind   kind
	link   int          // ifindex (0 for a route: let the kernel pick)
	dst    netip.Prefix // route destination
	ip     netip.Addr   // fdb: remote node IP; neigh: VTEP address; route: gateway
	mac    [6]byte      // fdb and neigh
	onlink bool         // route
}

// key identifies an entry in the kernel: what a replace overwrites.
type key struct {
	kind kind
	link int
	dst  netip.Prefix
	ip   netip.Addr
	mac  [6]byte
}

func (e entry) key() key {
	switch e.kind {
	case kindFDB:
		return key{kind: kindFDB, link: e.link, mac: e.mac}
	case kindNeigh:
		return key{kind: kindNeigh, link: e.link, ip: e.ip}
	default:
		return key{kind: kindRoute, dst: e.dst}
	}
}

func (e entry) String() string {
	switch e.kind {
	case kindFDB:
		return fmt.Sprintf("fdb %s dst %s dev %d", net.HardwareAddr(e.mac[:]), e.ip, e.link)
	case kindNeigh:
		return fmt.Sprintf("neigh %s lladdr %s dev %d", e.ip, net.HardwareAddr(e.mac[:]), e.link)
	default:
		return fmt.Sprintf("route %s via %s dev %d onlink=%t", e.dst, e.ip, e.link, e.onlink)
	}
}

var (
	errNoEndpoint = errors.New("no endpoint of that family")
	errNoDevice   = errors.New("no VXLAN device of that family")
	errGeneve     = errors.New("geneve peers are not programmed (no geneve datapath yet)")
)

func endpointFor(p Peer, family int) (Endpoint, bool) {
	for _, ep := range p.Endpoints {
		if ep.NodeIP.IsValid() && netaddr.Family(ep.NodeIP.Unmap()) == family {
			ep.NodeIP = ep.NodeIP.Unmap()
			return ep, true
		}
	}
	return Endpoint{}, false
}

// peerEntries returns the kernel objects peer p needs. It returns the
// entries it could build and an error describing what it skipped.
func peerEntries(p Peer, links Links) ([]entry, error) {
	var out []entry
	var errs []error
	for _, cidr := range p.PodCIDRs {
		es, err := cidrEntries(p, cidr, links)
		if err != nil {
			errs = append(errs, fmt.Errorf("pod CIDR %s: %w", cidr, err))
			continue
		}
		out = append(out, es...)
	}
	return out, errors.Join(errs...)
}

func cidrEntries(p Peer, cidr netip.Prefix, links Links) ([]entry, error) {
	if !cidr.IsValid() || cidr.Addr().Is4In6() {
		return nil, errors.New("invalid prefix")
	}
	cidr = cidr.Masked()
	f := netaddr.Family(cidr.Addr())
	switch p.Mode {
	case decision.ModeUnreachable, decision.ModeAuto, "":
		return nil, nil
	case decision.ModeGeneve:
		return nil, errGeneve
	case decision.ModeVXLAN, decision.ModeNative:
	default:
		return nil, fmt.Errorf("unknown mode %q", p.Mode)
	}
	ep, ok := endpointFor(p, f)
	if !ok {
		return nil, fmt.Errorf("IPv%d: %w", f, errNoEndpoint)
	}
	if !netaddr.ValidUnicast(ep.NodeIP) {
		return nil, fmt.Errorf("node IP %s is not a unicast address", ep.NodeIP)
	}
	if p.Mode == decision.ModeNative {
		return []entry{nativeRoute(cidr, ep, links.uplink(f))}, nil
	}
	return vxlanEntries(cidr, ep, links.vxlan(f))
}

func nativeRoute(cidr netip.Prefix, ep Endpoint, uplink int) entry {
	gw, onlink := ep.NodeIP, uplink != 0
	if ep.NextHop.IsValid() {
		gw, onlink = ep.NextHop.Unmap(), false
	}
	return entry{kind: kindRoute, dst: cidr, ip: gw, link: uplink, onlink: onlink}
}

func vxlanEntries(cidr netip.Prefix, ep Endpoint, dev int) ([]entry, error) {
	if dev == 0 {
		return nil, errNoDevice
	}
	if len(ep.VTEPMAC) != 6 || ep.VTEPMAC[0]&0x01 != 0 || isZero(ep.VTEPMAC) {
		return nil, fmt.Errorf("VTEP MAC %q is not a unicast Ethernet address", ep.VTEPMAC)
	}
	var mac [6]byte
	copy(mac[:], ep.VTEPMAC)
	vtep := VTEPAddr(cidr)
	return []entry{
		{kind: kindFDB, link: dev, ip: ep.NodeIP, mac: mac},
		{kind: kindNeigh, link: dev, ip: vtep, mac: mac},
		{kind: kindRoute, dst: cidr, ip: vtep, link: dev, onlink: true},
	}, nil
}

// VTEPAddr is a node's VTEP address for pod CIDR c: its first address
// (10.244.2.0 for 10.244.2.0/24, flannel-style). Peers use it as the
// neighbour and next hop towards that node over VXLAN; the node itself puts
// it on its VXLAN device of that family (overlay.Config.Addr), so traffic the
// node sends over the tunnel carries it as source.
func VTEPAddr(c netip.Prefix) netip.Addr { return c.Masked().Addr() }

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
