// Package offloadtest builds node underlays in throwaway network namespaces
// for privileged tests: a capable veth, a virtio-like veth, a VXLAN tunnel
// underlay, a bridge, a macvlan. Every underlay has the same addressing so
// that tests and golden files read alike:
//
//	node address    10.0.0.1/24 on the uplink ("eth0", "br0", "mv0", ...)
//	on-link peer    10.0.0.2
//	off-link peers  10.9.0.0/16 via 10.0.0.254 (also the default route)
//
// The tunnel underlay puts 10.0.0.1/24 on eth0 (default via 10.0.0.254),
// 192.168.50.1/24 on vx0 (VXLAN over eth0) and routes 10.9.0.0/16 via
// 192.168.50.254 over vx0: the off-link peers are behind the tunnel.
package offloadtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/safchain/ethtool"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// Addresses shared by every underlay.
var (
	OnLinkPeer  = net.ParseIP("10.0.0.2")
	OffLinkPeer = net.ParseIP("10.9.0.2")
	RemotePods  = mustCIDR("10.9.0.0/16")
	OtherPods   = mustCIDR("172.31.0.0/16")
)

// Underlay names a topology Build knows.
type Underlay string

const (
	Veth          Underlay = "veth"           // eth0: veth, every offload on
	VirtioLike    Underlay = "virtio-like"    // eth0: veth with tx-udp_tnl-(csum-)segmentation off
	VXLANUnderlay Underlay = "vxlan-underlay" // vx0: VXLAN over eth0 (veth): the uplink is a tunnel
	Bridge        Underlay = "bridge"         // br0 with ports eth0, eth1 (both veth, capable)
	BridgeMixed   Underlay = "bridge-mixed"   // br0 with eth0 (capable) and eth1 (virtio-like)
	Macvlan       Underlay = "macvlan"        // mv0: macvlan over eth0 (veth)
	MacvlanWeak   Underlay = "macvlan-weak"   // mv0 over a virtio-like eth0
	TunUnderlay   Underlay = "tun-underlay"   // tun0: an L3 tun device (VPN client) beside eth0
	// BridgeFDB is BridgeMixed where the gateway's MAC is known (neighbour
	// and static FDB entry behind eth0): only eth0 is on the path.
	BridgeFDB Underlay = "bridge-fdb"
	// Veth6 is Veth with IPv6 addressing: fd00::1/64 on eth0, off-link
	// peers fd09::/64 via fd00::fe.
	Veth6 Underlay = "veth6"
)

// OffLinkPeer6 is an off-link peer of the Veth6 underlay.
var OffLinkPeer6 = net.ParseIP("fd09::2")

// GatewayMAC is the MAC of 10.0.0.254 in the BridgeFDB underlay.
var GatewayMAC = net.HardwareAddr{0x02, 0, 0, 0, 0xfe, 0x01}

// All lists every underlay Build knows, in a stable order.
var All = []Underlay{Veth, VirtioLike, VXLANUnderlay, Bridge, BridgeMixed, BridgeFDB, Macvlan, MacvlanWeak, TunUnderlay, Veth6}

// NewNS returns a fresh network namespace removed when the test ends; it
// skips the test unless root.
func NewNS(t testing.TB) ns.NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("creating netns: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		testutils.UnmountNS(n)
	})
	return n
}

// Build creates underlay u in a fresh namespace and returns it.
func Build(t testing.TB, u Underlay) ns.NetNS {
	t.Helper()
	n := NewNS(t)
	if err := n.Do(func(ns.NetNS) error { return build(u) }); err != nil {
		t.Fatalf("building underlay %s: %v", u, err)
	}
	return n
}

// SkipUnlessKernelHas skips the test when the kernel cannot create kind,
// naming the reason ("Unknown device type").
func SkipUnlessKernelHas(t testing.TB, kind string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if err := offload.CanCreate(kind); err != nil {
		if errors.Is(err, offload.ErrKindUnsupported) {
			t.Skipf("this kernel lacks %s: %v", kind, err)
		}
		t.Fatalf("probing %s: %v", kind, err)
	}
}

func build(u Underlay) error {
	if err := up("lo"); err != nil {
		return err
	}
	switch u {
	case Veth:
		return uplink(vethUp("eth0", "sw0"), "eth0")
	case VirtioLike:
		return uplink(all(vethUp("eth0", "sw0"), virtioLike("eth0")), "eth0")
	case Macvlan, MacvlanWeak:
		steps := []error{vethUp("eth0", "sw0")}
		if u == MacvlanWeak {
			steps = append(steps, virtioLike("eth0"))
		}
		steps = append(steps, macvlan("mv0", "eth0"))
		return uplink(all(steps...), "mv0")
	case Bridge, BridgeMixed, BridgeFDB:
		steps := []error{bridge("br0"), vethUp("eth0", "sw0"), vethUp("eth1", "sw1"), enslave("eth0", "br0"), enslave("eth1", "br0")}
		if u != Bridge {
			steps = append(steps, virtioLike("eth1"))
		}
		if err := uplink(all(steps...), "br0"); err != nil || u != BridgeFDB {
			return err
		}
		return gatewayBehind("eth0", "br0")
	case VXLANUnderlay:
		return vxlanUnderlay()
	case TunUnderlay:
		return tunUnderlay()
	case Veth6:
		return veth6()
	}
	return fmt.Errorf("unknown underlay %q", u)
}

// uplink puts the node address and routes on dev once prior steps succeeded.
// Equivalent to: `ip addr add 10.0.0.1/24 dev DEV; ip route add 10.9.0.0/16
// via 10.0.0.254; ip route add default via 10.0.0.254`.
func uplink(err error, dev string) error {
	if err != nil {
		return err
	}
	return addrAndRoutes(dev, "10.0.0.1/24", net.ParseIP("10.0.0.254"))
}

func vxlanUnderlay() error {
	if err := vethUp("eth0", "sw0"); err != nil {
		return err
	}
	if err := addr("eth0", "10.0.0.1/24"); err != nil {
		return err
	}
	eth0, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	vx := &netlink.Vxlan{
		LinkAttrs:    netlink.LinkAttrs{Name: "vx0", MTU: 1450, HardwareAddr: net.HardwareAddr{0x02, 0, 0, 0, 0x50, 1}},
		VxlanId:      42,
		VtepDevIndex: eth0.Attrs().Index,
		SrcAddr:      net.ParseIP("10.0.0.1"),
		Group:        net.ParseIP("10.0.0.2"),
		Port:         4789,
	}
	if err := netlink.LinkAdd(vx); err != nil {
		return fmt.Errorf("ip link add vx0 type vxlan: %w", err)
	}
	if err := all(up("vx0"), addr("vx0", "192.168.50.1/24")); err != nil {
		return err
	}
	rt := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.ParseIP("10.0.0.254")}
	if err := netlink.RouteAdd(rt); err != nil {
		return fmt.Errorf("ip route add default via 10.0.0.254: %w", err)
	}
	vx0, err := netlink.LinkByName("vx0")
	if err != nil {
		return err
	}
	rt = &netlink.Route{LinkIndex: vx0.Attrs().Index, Dst: RemotePods, Gw: net.ParseIP("192.168.50.254")}
	if err := netlink.RouteAdd(rt); err != nil {
		return fmt.Errorf("ip route add %s via 192.168.50.254: %w", RemotePods, err)
	}
	return nil
}

// tunUnderlay is a user-space VPN's tun device carrying the off-link
// networks without a gateway, as wireguard-go or OpenVPN install them.
// Equivalent to: `ip tuntap add tun0 mode tun; ip addr add 192.168.60.1/24
// dev tun0; ip route add 10.9.0.0/16 dev tun0`.
func tunUnderlay() error {
	if err := uplink(vethUp("eth0", "sw0"), "eth0"); err != nil {
		return err
	}
	tun := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: "tun0", MTU: 1420}, Mode: netlink.TUNTAP_MODE_TUN}
	if err := netlink.LinkAdd(tun); err != nil {
		return fmt.Errorf("ip tuntap add tun0 mode tun: %w", err)
	}
	for _, f := range tun.Fds {
		f.Close()
	}
	if err := all(up("tun0"), addr("tun0", "192.168.60.1/24")); err != nil {
		return err
	}
	l, err := netlink.LinkByName("tun0")
	if err != nil {
		return err
	}
	// Replace eth0's route to the off-link pods: they are behind the VPN.
	rt := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: RemotePods}
	if err := netlink.RouteReplace(rt); err != nil {
		return fmt.Errorf("ip route replace %s dev tun0: %w", RemotePods, err)
	}
	return nil
}

// gatewayBehind makes the bridge know that 10.0.0.254 is behind port.
// Equivalent to: `ip neigh add 10.0.0.254 lladdr MAC dev BR nud permanent;
// bridge fdb add MAC dev PORT master static`.
func gatewayBehind(port, br string) error {
	p, err := netlink.LinkByName(port)
	if err != nil {
		return err
	}
	b, err := netlink.LinkByName(br)
	if err != nil {
		return err
	}
	neigh := &netlink.Neigh{LinkIndex: b.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("10.0.0.254"), HardwareAddr: GatewayMAC}
	if err := netlink.NeighAdd(neigh); err != nil {
		return fmt.Errorf("ip neigh add 10.0.0.254 dev %s: %w", br, err)
	}
	fdb := &netlink.Neigh{LinkIndex: p.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_NOARP,
		Flags: netlink.NTF_MASTER, HardwareAddr: GatewayMAC}
	if err := netlink.NeighAppend(fdb); err != nil {
		return fmt.Errorf("bridge fdb add %s dev %s master static: %w", GatewayMAC, port, err)
	}
	return nil
}

// veth6 is an IPv6-only capable uplink. Equivalent to: `ip addr add
// fd00::1/64 dev eth0 nodad; ip route add fd09::/64 via fd00::fe`.
func veth6() error {
	if err := vethUp("eth0", "sw0"); err != nil {
		return err
	}
	l, err := netlink.LinkByName("eth0")
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr("fd00::1/64")
	if err != nil {
		return err
	}
	a.Flags = unix.IFA_F_NODAD
	if err := netlink.AddrAdd(l, a); err != nil {
		return fmt.Errorf("ip addr add fd00::1/64 dev eth0: %w", err)
	}
	_, dst, _ := net.ParseCIDR("fd09::/64")
	rt := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP("fd00::fe")}
	if err := netlink.RouteAdd(rt); err != nil {
		return fmt.Errorf("ip route add fd09::/64 via fd00::fe: %w", err)
	}
	return nil
}

func addrAndRoutes(dev, cidr string, gw net.IP) error {
	if err := addr(dev, cidr); err != nil {
		return err
	}
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return err
	}
	for _, dst := range []*net.IPNet{RemotePods, nil} {
		rt := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: gw}
		if err := netlink.RouteAdd(rt); err != nil {
			return fmt.Errorf("ip route add %v via %s: %w", dst, gw, err)
		}
	}
	return nil
}

// vethUp creates a veth pair in this namespace with fixed MACs (stable
// output) and brings both ends up. Equivalent to: `ip link add A type veth
// peer name B; ip link set A up; ip link set B up`.
func vethUp(a, b string) error {
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: a, HardwareAddr: mac(a)},
		PeerName:  b, PeerHardwareAddr: mac(b),
	}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("ip link add %s type veth peer name %s: %w", a, b, err)
	}
	return all(up(a), up(b))
}

func bridge(name string) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: mac(name)}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("ip link add %s type bridge: %w", name, err)
	}
	return up(name)
}

func macvlan(name, parent string) error {
	p, err := netlink.LinkByName(parent)
	if err != nil {
		return err
	}
	mv := &netlink.Macvlan{
		LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: p.Attrs().Index, HardwareAddr: mac(name)},
		Mode:      netlink.MACVLAN_MODE_BRIDGE,
	}
	if err := netlink.LinkAdd(mv); err != nil {
		return fmt.Errorf("ip link add %s link %s type macvlan: %w", name, parent, err)
	}
	return up(name)
}

func enslave(dev, master string) error {
	d, err := netlink.LinkByName(dev)
	if err != nil {
		return err
	}
	m, err := netlink.LinkByName(master)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(d, m); err != nil {
		return fmt.Errorf("ip link set %s master %s: %w", dev, master, err)
	}
	return nil
}

// virtioLike turns tunnel segmentation off as a virtio-net guest NIC has it.
// Equivalent to: `ethtool -K DEV tx-udp_tnl-segmentation off
// tx-udp_tnl-csum-segmentation off`.
func virtioLike(dev string) error {
	e, err := ethtool.NewEthtool()
	if err != nil {
		return err
	}
	defer e.Close()
	err = e.Change(dev, map[string]bool{offload.FeatUDPTunnelSeg: false, offload.FeatUDPTunnelCsumSeg: false})
	if err != nil {
		return fmt.Errorf("ethtool -K %s tx-udp_tnl-segmentation off: %w", dev, err)
	}
	return nil
}

func up(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("looking up %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("ip link set %s up: %w", name, err)
	}
	return nil
}

func addr(dev, cidr string) error {
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, a); err != nil {
		return fmt.Errorf("ip addr add %s dev %s: %w", cidr, dev, err)
	}
	return nil
}

// mac derives a locally administered MAC from a device name.
func mac(name string) net.HardwareAddr {
	m := net.HardwareAddr{0x02, 0x00, 0, 0, 0, 0}
	for i, c := range []byte(name) {
		m[2+i%4] ^= c
	}
	return m
}

func all(errs ...error) error { return errors.Join(errs...) }

func mustCIDR(s string) *net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return n
}
