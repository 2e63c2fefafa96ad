package overlay

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// Kind is a tunnel device type.
type Kind string

const (
	KindVXLAN  Kind = "vxlan"
	KindGeneve Kind = "geneve"
)

// DefaultVNI and DefaultPort are the agent's defaults (--vni, --vxlan-port).
const (
	DefaultVNI        = 1
	DefaultVXLANPort  = 4789
	DefaultGenevePort = 6081
)

// NamePrefix starts the name of every device this package creates.
const NamePrefix = "oo-"

// DeviceName is the tunnel device of kind for outer family (4 or 6):
// "oo-vxlan4", "oo-vxlan6", "oo-geneve4", "oo-geneve6".
func DeviceName(kind Kind, family int) string {
	return fmt.Sprintf("%s%s%d", NamePrefix, kind, family)
}

// Config is the desired tunnel device of one family.
type Config struct {
	// Kind is KindVXLAN (default) or KindGeneve.
	Kind Kind
	// Name defaults to DeviceName(Kind, family of LocalIP).
	Name string
	// VNI defaults to DefaultVNI.
	VNI int
	// Port is the UDP destination port; defaults to 4789 (VXLAN) or 6081 (Geneve).
	Port int
	// LocalIP is the node IP used as outer source; its family selects the
	// device family. Required.
	LocalIP netip.Addr
	// UplinkIndex is the ifindex of the egress device (VXLAN "dev"); 0 lets
	// the kernel route the outer packets.
	UplinkIndex int
	// MTU of the device; 0 means the uplink's MTU minus Overhead.
	MTU int
	// UDPCsum computes the outer UDP checksum on transmit. IPv4 outer
	// headers may carry a zero checksum, but false for IPv4 means "kernel
	// default" (6.18 computes it: "udpcsum"), because the netlink library
	// cannot send an explicit off; IPv6 outer headers need one
	// unless both ends accept zero checksums (RFC 6935), so for IPv6 false
	// means "udp6zerocsumtx". Zero-checksum packets are always accepted on
	// receive for IPv6 (udp6zerocsumrx), so mixed settings interoperate.
	UDPCsum bool
	// Addr is this node's VTEP address of the device's family (the first
	// address of its pod CIDR, peers.VTEPAddr), put on the device as a host
	// address so node-originated traffic over the tunnel carries it as
	// source (see addr.go for why). Invalid: the device gets no address.
	Addr netip.Addr
}

// Device is a converged tunnel device.
type Device struct {
	Name   string
	Index  int
	Kind   Kind
	Family int // 4 or 6, the outer family
	MAC    net.HardwareAddr
	MTU    int
	// Recreated says what differed when an existing device had to be
	// deleted and created again ("vni: 1 vs 2"); empty otherwise.
	Recreated string
}

func family(ip netip.Addr) int {
	if ip.Is4() || ip.Is4In6() {
		return 4
	}
	return 6
}

func (c Config) withDefaults(h *netlink.Handle) (Config, error) {
	if !c.LocalIP.IsValid() {
		return c, errors.New("overlay config: local IP is required")
	}
	c.LocalIP = c.LocalIP.Unmap()
	if c.Kind == "" {
		c.Kind = KindVXLAN
	}
	if c.Kind != KindVXLAN && c.Kind != KindGeneve {
		return c, fmt.Errorf("overlay config: unknown kind %q", c.Kind)
	}
	if c.Name == "" {
		c.Name = DeviceName(c.Kind, family(c.LocalIP))
	}
	if c.VNI == 0 {
		c.VNI = DefaultVNI
	}
	if c.Port == 0 {
		c.Port = DefaultVXLANPort
		if c.Kind == KindGeneve {
			c.Port = DefaultGenevePort
		}
	}
	if c.MTU == 0 {
		if c.UplinkIndex == 0 {
			return c, errors.New("overlay config: MTU or uplink index is required")
		}
		up, err := h.LinkByIndex(c.UplinkIndex)
		if err != nil {
			return c, fmt.Errorf("reading uplink %d: %w", c.UplinkIndex, err)
		}
		c.MTU = up.Attrs().MTU - Overhead(c.Kind, family(c.LocalIP))
	}
	return c, nil
}

// build returns the netlink description of the desired device.
func (c Config) build() netlink.Link {
	attrs := netlink.LinkAttrs{
		Name:         c.Name,
		MTU:          c.MTU,
		HardwareAddr: VTEPMAC(c.LocalIP),
	}
	v6 := family(c.LocalIP) == 6
	if c.Kind == KindGeneve {
		g := &netlink.Geneve{LinkAttrs: attrs, FlowBased: true, Dport: uint16(c.Port)}
		if v6 {
			g.UdpZeroCsum6Tx = b2u8(!c.UDPCsum)
			g.UdpZeroCsum6Rx = 1
		} else {
			g.UdpCsum = b2u8(c.UDPCsum)
		}
		return g
	}
	v := &netlink.Vxlan{
		LinkAttrs:    attrs,
		VxlanId:      c.VNI,
		VtepDevIndex: c.UplinkIndex,
		SrcAddr:      net.IP(c.LocalIP.AsSlice()),
		Port:         c.Port,
		Learning:     false,
	}
	if v6 {
		v.UDP6ZeroCSumTx = !c.UDPCsum
		v.UDP6ZeroCSumRx = true
	} else {
		v.UDPCSum = c.UDPCsum
	}
	return v
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Ensure converges the tunnel device described by cfg and brings it up.
// A missing device is created; an existing one with the same identity is
// adopted (only MTU, MAC and up state are fixed in place); one that differs
// is deleted and recreated, and the difference is logged in words.
// Equivalent to:
//
//	ip link add oo-vxlan4 address <VTEPMAC> mtu <MTU> type vxlan id <VNI> \
//	    local <LocalIP> dev <uplink> dstport <Port> nolearning [noudpcsum]
//	ip link set oo-vxlan4 up
//	ip addr add <Addr>/32 dev oo-vxlan4   (IPv6: /128 nodad noprefixroute)
//
// h may be nil (the calling thread's network namespace).
func Ensure(h *netlink.Handle, cfg Config) (*Device, error) {
	if h == nil {
		h = &netlink.Handle{}
	}
	cfg, err := cfg.withDefaults(h)
	if err != nil {
		return nil, err
	}
	want := cfg.build()
	recreated := ""
	link, err := h.LinkByName(cfg.Name)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		link, err = create(h, want)
	case err != nil:
		return nil, fmt.Errorf("looking up %s: %w", cfg.Name, err)
	default:
		if diff := incompat(want, link); diff != "" {
			slog.Warn("tunnel device differs, recreating", "device", cfg.Name, "diff", diff)
			if err := h.LinkDel(link); err != nil {
				return nil, fmt.Errorf("deleting %s (%s): %w", cfg.Name, diff, err)
			}
			link, err = create(h, want)
			recreated = diff
		}
	}
	if err != nil {
		return nil, err
	}
	if err := fixInPlace(h, link, want); err != nil {
		return nil, err
	}
	if err := ensureAddr(h, link, cfg.Addr); err != nil {
		return nil, err
	}
	return &Device{
		Name:   cfg.Name,
		Index:  link.Attrs().Index,
		Kind:   cfg.Kind,
		Family: family(cfg.LocalIP),
		MAC:    want.Attrs().HardwareAddr,
		MTU:    cfg.MTU,

		Recreated: recreated,
	}, nil
}

// create adds the device and reads it back (for its ifindex).
func create(h *netlink.Handle, want netlink.Link) (netlink.Link, error) {
	name := want.Attrs().Name
	if err := h.LinkAdd(want); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return nil, fmt.Errorf("creating %s device %q: %w (%w)", want.Type(), name, offload.ErrKindUnsupported, err)
		}
		return nil, fmt.Errorf("creating %s device %q: %w", want.Type(), name, err)
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("reading back %q: %w", name, err)
	}
	return link, nil
}

// fixInPlace sets what can change without recreating the device.
// Equivalent to: ip link set <dev> mtu <MTU> address <MAC> up
func fixInPlace(h *netlink.Handle, have, want netlink.Link) error {
	name := want.Attrs().Name
	if have.Attrs().MTU != want.Attrs().MTU {
		if err := h.LinkSetMTU(have, want.Attrs().MTU); err != nil {
			return fmt.Errorf("setting mtu %d on %s: %w", want.Attrs().MTU, name, err)
		}
	}
	if have.Attrs().HardwareAddr.String() != want.Attrs().HardwareAddr.String() {
		if err := h.LinkSetHardwareAddr(have, want.Attrs().HardwareAddr); err != nil {
			return fmt.Errorf("setting address on %s: %w", name, err)
		}
	}
	if have.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(have); err != nil {
			return fmt.Errorf("setting %s up: %w", name, err)
		}
	}
	return nil
}

// incompat says in words how an existing device differs from the desired
// one in a way that needs recreation ("vni: 1 vs 2"), or "" when it does not.
func incompat(want, have netlink.Link) string {
	if want.Type() != have.Type() {
		return fmt.Sprintf("type: %s vs %s", have.Type(), want.Type())
	}
	switch w := want.(type) {
	case *netlink.Vxlan:
		return vxlanIncompat(w, have.(*netlink.Vxlan))
	case *netlink.Geneve:
		return geneveIncompat(w, have.(*netlink.Geneve))
	}
	return ""
}

func vxlanIncompat(w, h *netlink.Vxlan) string {
	switch {
	case h.VxlanId != w.VxlanId:
		return fmt.Sprintf("vni: %d vs %d", h.VxlanId, w.VxlanId)
	case h.Port != w.Port:
		return fmt.Sprintf("port: %d vs %d", h.Port, w.Port)
	case !h.SrcAddr.Equal(w.SrcAddr):
		return fmt.Sprintf("local: %s vs %s", h.SrcAddr, w.SrcAddr)
	case h.VtepDevIndex != w.VtepDevIndex:
		return fmt.Sprintf("dev index: %d vs %d", h.VtepDevIndex, w.VtepDevIndex)
	case h.Learning != w.Learning:
		return fmt.Sprintf("learning: %t vs %t", h.Learning, w.Learning)
	case len(h.Group) > 0 && !h.Group.IsUnspecified():
		return fmt.Sprintf("group: %s vs none", h.Group)
	case w.SrcAddr.To4() != nil && w.UDPCSum && !h.UDPCSum:
		// Only "on" can be requested over netlink here (the library omits
		// a false IFLA_VXLAN_UDP_CSUM); "off" accepts the kernel default.
		return fmt.Sprintf("udpcsum: %t vs %t", h.UDPCSum, w.UDPCSum)
	case w.SrcAddr.To4() == nil && h.UDP6ZeroCSumTx != w.UDP6ZeroCSumTx:
		return fmt.Sprintf("udp6zerocsumtx: %t vs %t", h.UDP6ZeroCSumTx, w.UDP6ZeroCSumTx)
	case w.SrcAddr.To4() == nil && h.UDP6ZeroCSumRx != w.UDP6ZeroCSumRx:
		return fmt.Sprintf("udp6zerocsumrx: %t vs %t", h.UDP6ZeroCSumRx, w.UDP6ZeroCSumRx)
	}
	return ""
}

func geneveIncompat(w, h *netlink.Geneve) string {
	switch {
	case h.FlowBased != w.FlowBased:
		return fmt.Sprintf("external: %t vs %t", h.FlowBased, w.FlowBased)
	case h.Dport != w.Dport:
		return fmt.Sprintf("port: %d vs %d", h.Dport, w.Dport)
	}
	return ""
}

// Teardown deletes the named device; a missing device is success.
// Equivalent to: ip link del <name>
func Teardown(h *netlink.Handle, name string) error {
	if h == nil {
		h = &netlink.Handle{}
	}
	link, err := h.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up %s: %w", name, err)
	}
	if err := h.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

// TeardownAll deletes every tunnel device this package names
// (oo-vxlan4/6, oo-geneve4/6), with their FDB entries, neighbours and routes.
func TeardownAll(h *netlink.Handle) error {
	var errs []error
	for _, k := range []Kind{KindVXLAN, KindGeneve} {
		for _, f := range []int{4, 6} {
			errs = append(errs, Teardown(h, DeviceName(k, f)))
		}
	}
	return errors.Join(errs...)
}
