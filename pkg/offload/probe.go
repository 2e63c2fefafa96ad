package offload

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrKindUnsupported is returned when the kernel cannot create a link kind
// ("Error: Unknown device type." from `ip link add`): the driver is neither
// built in nor loadable.
var ErrKindUnsupported = errors.New("kernel cannot create this link kind")

var (
	probeOnce   sync.Once
	probeResult []EncapSupport
	probeErr    error
)

// ProbeEncaps returns the overlay tunnel kinds (of EncapKinds) this kernel
// can create, probed once per process by creating each in a scratch network
// namespace.
func ProbeEncaps() ([]string, error) {
	res, err := ProbeEncapSupport()
	if err != nil {
		return nil, err
	}
	var kinds []string
	for _, r := range res {
		if r.OK {
			kinds = append(kinds, r.Kind)
		}
	}
	return kinds, nil
}

// ProbeEncapSupport is ProbeEncaps with the reason for every missing kind.
// The result is cached for the life of the process.
func ProbeEncapSupport() ([]EncapSupport, error) {
	probeOnce.Do(func() {
		probeErr = withScratchNetns(func(h *netlink.Handle) error {
			for _, k := range EncapKinds {
				err := createProbe(h, k)
				probeResult = append(probeResult, EncapSupport{Kind: k, OK: err == nil, Error: err})
				if err != nil && !errors.Is(err, ErrKindUnsupported) {
					return err
				}
			}
			return nil
		})
		if probeErr != nil {
			probeResult = nil
		}
	})
	return probeResult, probeErr
}

// CanCreate reports whether the kernel can create a link of the given kind
// (vxlan, geneve, vrf, bond, team, vlan, macvlan, ipvlan, bridge, veth,
// dummy, ipip, gre, wireguard, ...), by creating one in a scratch network
// namespace. The error wraps ErrKindUnsupported when the kind is missing.
// Equivalent to: `ip netns add x; ip -n x link add probe0 type KIND ...`.
func CanCreate(kind string) error {
	return withScratchNetns(func(h *netlink.Handle) error { return createProbe(h, kind) })
}

// createProbe creates one link of kind in the scratch namespace behind h.
func createProbe(h *netlink.Handle, kind string) error {
	var l netlink.Link
	la := netlink.LinkAttrs{Name: "probe-" + kind}
	if len(la.Name) > 15 {
		la.Name = la.Name[:15]
	}
	remote := net.IPv4(192, 0, 2, 1)
	switch kind {
	case "vxlan":
		l = &netlink.Vxlan{LinkAttrs: la, VxlanId: 1, Port: 4789}
	case "geneve":
		l = &netlink.Geneve{LinkAttrs: la, ID: 1, Remote: remote}
	case "vrf":
		l = &netlink.Vrf{LinkAttrs: la, Table: 4242}
	case "bond":
		l = netlink.NewLinkBond(la)
	case "veth":
		l = &netlink.Veth{LinkAttrs: la, PeerName: "probe-peer"}
	case "ipip":
		l = &netlink.Iptun{LinkAttrs: la, Remote: remote}
	case "gre":
		l = &netlink.Gretun{LinkAttrs: la, Remote: remote}
	case "gretap":
		l = &netlink.Gretap{LinkAttrs: la, Remote: remote}
	case "vlan", "macvlan", "ipvlan", "macvtap":
		parent := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "probe-lower"}, PeerName: "probe-lower-p"}
		if err := h.LinkAdd(parent); err != nil {
			return fmt.Errorf("creating veth parent for the %s probe: %w", kind, err)
		}
		la.ParentIndex = parentIndex(h, parent.Name)
		switch kind {
		case "vlan":
			l = &netlink.Vlan{LinkAttrs: la, VlanId: 10}
		case "macvlan":
			l = &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_BRIDGE}
		case "macvtap":
			l = &netlink.Macvtap{Macvlan: netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_BRIDGE}}
		default:
			l = &netlink.IPVlan{LinkAttrs: la, Mode: netlink.IPVLAN_MODE_L2}
		}
	default:
		l = &netlink.GenericLink{LinkAttrs: la, LinkType: kind}
	}
	if err := h.LinkAdd(l); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("ip link add type %s: Unknown device type (%w): %w", kind, err, ErrKindUnsupported)
		}
		return fmt.Errorf("ip link add type %s: %w", kind, err)
	}
	return nil
}

func parentIndex(h *netlink.Handle, name string) int {
	l, err := h.LinkByName(name)
	if err != nil {
		return 0
	}
	return l.Attrs().Index
}

// withScratchNetns runs fn with a netlink handle inside a new, anonymous
// network namespace that disappears when fn returns (its last reference is
// the handle's socket and the namespace fd, both closed here). The thread
// that creates the namespace is locked, and if it cannot be moved back it is
// left locked so that the Go runtime discards it with the goroutine.
func withScratchNetns(fn func(h *netlink.Handle) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("reading current netns: %w", err)
			return
		}
		defer orig.Close()
		scratch, err := netns.New()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("creating scratch netns: %w", err)
			return
		}
		defer scratch.Close()
		if err := netns.Set(orig); err != nil {
			// Thread stays in the scratch namespace: keep it locked so it dies.
			errc <- fmt.Errorf("returning from scratch netns: %w", err)
			return
		}
		runtime.UnlockOSThread()
		h, err := netlink.NewHandleAt(scratch)
		if err != nil {
			errc <- fmt.Errorf("netlink handle in scratch netns: %w", err)
			return
		}
		defer h.Close()
		errc <- fn(h)
	}()
	return <-errc
}
