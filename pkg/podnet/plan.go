package podnet

import (
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"golang.org/x/sys/unix"
)

var (
	// GatewayV6 is the IPv6 next hop of every pod: a link-local address
	// present on every host veth.
	GatewayV6 = net.ParseIP("fe80::1")
	// fallbackGatewayV4 is used when the IPAM result has no IPv4 gateway
	// (an IPAM other than host-local): link-local, never a pod address.
	fallbackGatewayV4 = net.IPv4(169, 254, 1, 1).To4()
)

// Plan is the desired state of one attachment, computed from the IPAM
// result without touching the kernel: ADD applies it, CHECK compares the
// kernel against it.
type Plan struct {
	Attachment
	// HostVeth is the host-side veth name.
	HostVeth string
	// MTU of both veth ends.
	MTU int
	// PodAddrs are the pod's addresses, /32 and /128.
	PodAddrs []*net.IPNet
	// PodGateways[i] is the next hop of PodAddrs[i]'s family.
	PodGateways []net.IP
	// PodRoutes are the pod's routes, in the order they must be added
	// (the on-link route to the IPv4 gateway before routes via it).
	PodRoutes []*types.Route
	// HostAddrs are the gateway addresses on the host veth.
	HostAddrs []*net.IPNet
	// HostRoutes are the routes to the pod's addresses via the host veth.
	HostRoutes []*net.IPNet
}

// NewPlan computes the plan for attachment a from the IPAM result's ips and
// routes. Routes from IPAM without a gateway go via the family's gateway.
func NewPlan(a Attachment, mtu int, ips []*current.IPConfig, ipamRoutes []*types.Route) (*Plan, error) {
	if len(ips) == 0 {
		return nil, fmt.Errorf("IPAM returned no addresses")
	}
	p := &Plan{Attachment: a, HostVeth: a.HostVeth(), MTU: mtu}
	gw := map[int]net.IP{} // family -> gateway
	for _, ipc := range ips {
		fam, addr, err := podAddr(ipc)
		if err != nil {
			return nil, err
		}
		p.PodAddrs = append(p.PodAddrs, addr)
		p.HostRoutes = append(p.HostRoutes, addr)
		if _, ok := gw[fam]; !ok {
			gw[fam] = p.addGateway(fam, ipc.Gateway)
		}
		p.PodGateways = append(p.PodGateways, gw[fam])
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		if g, ok := gw[fam]; ok {
			p.PodRoutes = append(p.PodRoutes, &types.Route{Dst: defaultDst(fam), GW: g})
		}
	}
	for _, r := range ipamRoutes {
		if r.Dst.IP == nil || isDefault(&r.Dst) {
			continue // the default route is ours
		}
		rr := *r
		if rr.GW == nil {
			rr.GW = gw[family(r.Dst.IP)]
		}
		if rr.GW != nil {
			p.PodRoutes = append(p.PodRoutes, &rr)
		}
	}
	return p, nil
}

// addGateway records the family's gateway on the host side and, for IPv4,
// the pod's on-link route to it; it returns the gateway.
func (p *Plan) addGateway(fam int, ipamGW net.IP) net.IP {
	if fam == unix.AF_INET6 {
		p.HostAddrs = append(p.HostAddrs, &net.IPNet{IP: GatewayV6, Mask: net.CIDRMask(64, 128)})
		return GatewayV6
	}
	g := fallbackGatewayV4
	if v4 := ipamGW.To4(); v4 != nil {
		g = v4
	}
	host := &net.IPNet{IP: g, Mask: net.CIDRMask(32, 32)}
	p.HostAddrs = append(p.HostAddrs, host)
	link := int(unix.RT_SCOPE_LINK)
	p.PodRoutes = append(p.PodRoutes, &types.Route{Dst: *host, Scope: &link})
	return g
}

// podAddr returns the family and the host-length prefix of an IPAM address.
func podAddr(ipc *current.IPConfig) (int, *net.IPNet, error) {
	if ipc == nil || ipc.Address.IP == nil {
		return 0, nil, fmt.Errorf("IPAM returned an empty address")
	}
	if v4 := ipc.Address.IP.To4(); v4 != nil {
		return unix.AF_INET, &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}, nil
	}
	return unix.AF_INET6, &net.IPNet{IP: ipc.Address.IP, Mask: net.CIDRMask(128, 128)}, nil
}

func family(ip net.IP) int {
	if ip.To4() != nil {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func defaultDst(fam int) net.IPNet {
	if fam == unix.AF_INET {
		return net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
}

func isDefault(n *net.IPNet) bool {
	ones, _ := n.Mask.Size()
	return ones == 0
}

// Families reports which address families the plan uses.
func (p *Plan) Families() (v4, v6 bool) {
	for _, a := range p.PodAddrs {
		if a.IP.To4() != nil {
			v4 = true
		} else {
			v6 = true
		}
	}
	return v4, v6
}
