package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// The lab's own overlay (the forced-VXLAN baseline, a flannel-style static
// VXLAN): distinct VNI and port from the agent's so both coexist on a node.
const (
	labVXName = "labvx"
	labVNI    = 42
	labVXPort = 4799
	// labVXOverhead: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
	labVXOverhead = 50
	// labRouteProto marks every route the lab programs (ip route ... proto 242).
	labRouteProto = 242
)

// Path is a datapath the lab programs between two nodes.
type Path string

const (
	PathNative Path = "native"
	PathVXLAN  Path = "vxlan"
)

// labVXLAN is one node's end of the lab overlay.
type labVXLAN struct {
	mac net.HardwareAddr
	mtu int
}

// vtep4 and vtep6 are the lab overlay's next-hop addresses for node i
// (1-based); they exist only as permanent neighbour entries.
func vtep4(i int) net.IP { return net.IPv4(169, 254, labVNI, byte(i)) }
func vtep6(i int) net.IP {
	ip := net.ParseIP("fd42::")
	ip[15] = byte(i)
	return ip
}

func (l *Lab) index(n *Node) int {
	for i, x := range l.Nodes {
		if x == n {
			return i + 1
		}
	}
	return 0
}

// ensureLabVXLAN creates the node's lab VXLAN device once. Equivalent to:
// `ip link add labvx mtu $mtu type vxlan id 42 dstport 4799 local $nodeIP dev $uplink nolearning`.
func (l *Lab) ensureLabVXLAN(n *Node) (*labVXLAN, error) {
	if n.vx != nil {
		return n.vx, nil
	}
	h, err := topo.Handle(n.Netns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	up, err := h.LinkByName(n.Uplink)
	if err != nil {
		return nil, fmt.Errorf("%s: uplink %s: %w", n.Name, n.Uplink, err)
	}
	vx := &netlink.Vxlan{
		LinkAttrs: netlink.LinkAttrs{Name: labVXName, MTU: n.MTU - labVXOverhead},
		VxlanId:   labVNI, VtepDevIndex: up.Attrs().Index, SrcAddr: net.ParseIP(n.IPv4), Port: labVXPort,
	}
	if err := h.LinkAdd(vx); err != nil {
		return nil, fmt.Errorf("%s: creating %s: %w", n.Name, labVXName, err)
	}
	if err := h.LinkSetUp(vx); err != nil {
		return nil, fmt.Errorf("%s: %s up: %w", n.Name, labVXName, err)
	}
	got, err := h.LinkByName(labVXName)
	if err != nil {
		return nil, err
	}
	n.vx = &labVXLAN{mac: got.Attrs().HardwareAddr, mtu: got.Attrs().MTU}
	return n.vx, nil
}

// connectLabVXLAN lets a reach b's lab VTEP: FDB entry b-MAC -> b's node IP,
// permanent neighbours for b's VTEP addresses. Equivalent to:
// `bridge fdb replace $bMAC dev labvx dst $bIP` and
// `ip neigh replace 169.254.42.$b lladdr $bMAC dev labvx nud permanent`.
func (l *Lab) connectLabVXLAN(a, b *Node) error {
	for _, n := range []*Node{a, b} {
		if _, err := l.ensureLabVXLAN(n); err != nil {
			return err
		}
	}
	h, err := topo.Handle(a.Netns)
	if err != nil {
		return err
	}
	defer h.Close()
	vx, err := h.LinkByName(labVXName)
	if err != nil {
		return err
	}
	idx := vx.Attrs().Index
	fdb := &netlink.Neigh{LinkIndex: idx, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
		Flags: netlink.NTF_SELF, IP: net.ParseIP(b.IPv4), HardwareAddr: b.vx.mac}
	if err := h.NeighSet(fdb); err != nil {
		return fmt.Errorf("%s: fdb %s -> %s: %w", a.Name, b.vx.mac, b.IPv4, err)
	}
	for _, ip := range []net.IP{vtep4(l.index(b)), vtep6(l.index(b))} {
		nb := &netlink.Neigh{LinkIndex: idx, State: netlink.NUD_PERMANENT, IP: ip, HardwareAddr: b.vx.mac}
		if ip.To4() != nil {
			nb.Family = unix.AF_INET
		} else {
			nb.Family = unix.AF_INET6
		}
		if err := h.NeighSet(nb); err != nil {
			return fmt.Errorf("%s: neighbour %s: %w", a.Name, ip, err)
		}
	}
	return nil
}

// routeTo returns, on node a, the route that sends dst to node b over path.
// Native: via b's node IP when on the same segment, else via a's gateway
// (the router must carry dst). VXLAN: via b's lab VTEP, onlink.
func (l *Lab) routeTo(a, b *Node, dst netip.Prefix, path Path) (*netlink.Route, error) {
	r := &netlink.Route{Dst: prefixNet(dst), Protocol: labRouteProto}
	v6 := dst.Addr().Is6()
	switch path {
	case PathVXLAN:
		if err := l.connectLabVXLAN(a, b); err != nil {
			return nil, err
		}
		r.Gw = vtep4(l.index(b))
		if v6 {
			r.Gw = vtep6(l.index(b))
		}
		r.Flags = int(netlink.FLAG_ONLINK)
		r.LinkIndex = -1 // filled in by the caller's handle
	case PathNative:
		switch {
		case a.Segment == b.Segment && v6:
			r.Gw = net.ParseIP(b.IPv6)
		case a.Segment == b.Segment:
			r.Gw = net.ParseIP(b.IPv4)
		case v6:
			r.Gw = net.ParseIP(a.Gateway6)
		default:
			r.Gw = net.ParseIP(a.Gateway4)
		}
	default:
		return nil, fmt.Errorf("path %q: want native or vxlan", path)
	}
	return r, nil
}

// setRoute programs (replace) or removes routes to dsts on node a.
// Equivalent to: `ip -n $a route replace $dst via $gw [dev labvx onlink] proto 242`.
func (l *Lab) setRoute(a, b *Node, dsts []netip.Prefix, path Path, del bool) error {
	h, err := topo.Handle(a.Netns)
	if err != nil {
		return err
	}
	defer h.Close()
	var errs []error
	for _, dst := range dsts {
		r, err := l.routeTo(a, b, dst, path)
		if err != nil {
			return err
		}
		if r.LinkIndex == -1 {
			vx, err := h.LinkByName(labVXName)
			if err != nil {
				return err
			}
			r.LinkIndex = vx.Attrs().Index
		}
		if del {
			if err := h.RouteDel(r); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("%s: deleting route %s: %w", a.Name, dst, err))
			}
			continue
		}
		if err := h.RouteReplace(r); err != nil {
			errs = append(errs, fmt.Errorf("%s: route %s via %s (%s): %w", a.Name, dst, r.Gw, path, err))
		}
	}
	return errors.Join(errs...)
}

// startManual programs every pair with path and writes each node's state
// file as the agent would (ready, pod CIDRs, pod MTU of that path).
func (l *Lab) startManual(path Path) error {
	for _, a := range l.Nodes {
		mtu := a.MTU
		for _, b := range l.Nodes {
			if a == b {
				continue
			}
			if err := l.setRoute(a, b, b.PodCIDRs, path, false); err != nil {
				return err
			}
		}
		if path == PathVXLAN {
			mtu -= labVXOverhead
		}
		st := &state.NodeState{Node: a.Name, Ready: true, MTU: mtu, Modes: map[string]int{string(path): len(l.Nodes) - 1},
			Summary: "lab-programmed " + string(path) + " (no agent)", UpdatedAt: time.Now()}
		for _, p := range a.PodCIDRs {
			st.PodCIDRs = append(st.PodCIDRs, p.String())
		}
		if err := state.Write(a.Dir, st); err != nil {
			return err
		}
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Masked().Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}
