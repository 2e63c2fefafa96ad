package linux

import (
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// Config configures New.
type Config struct {
	// NetNS is the namespace standing for the node (tests); nil: the
	// agent's own (the host's, in a hostNetwork pod).
	NetNS     ns.NetNS
	Iface     string // uplink override
	VNI, Port int
	Masq      Masquerader // nil: no masquerade
	// Firewall turns on the VXLAN filter (pkg/firewall).
	Firewall bool
	Log      *slog.Logger
}

// kernel is the production Kernel: netlink through a handle bound to
// the node's namespace, the offload package for inspection, overlay for
// the tunnel devices, peers for the per-peer converge.
type kernel struct {
	cfg  Config
	h    *netlink.Handle
	conv *peers.Converger
	// lo addresses we added (probe addresses).
	loAddrs []netip.Prefix
	// node is EnsureNode's last input and result (nil before it).
	node *nodeSetup
	// vxlanFams are the node-IP families (netaddr.Index) whose VXLAN
	// device is wanted: a VXLAN path of that family was programmed, or
	// the device existed at start. Once wanted, a device stays.
	vxlanFams [2]bool
	// egress caches walks and route tables towards peers until
	// ForgetRoutes (a full converge reads them again).
	egress *offload.EgressCache
}

// New opens a netlink handle in cfg.NetNS (or the current namespace).
func New(cfg Config) (datapath.Kernel, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h, err := handleIn(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	return &kernel{cfg: cfg, h: h}, nil
}

func handleIn(n ns.NetNS) (*netlink.Handle, error) {
	if n == nil {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("opening netlink handle: %w", err)
		}
		return h, nil
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(n.Fd()))
	if err != nil {
		return nil, fmt.Errorf("opening netlink handle in %s: %w", n.Path(), err)
	}
	return h, nil
}

// do runs f in the node's namespace (for exec'd tools and sockets).
func (k *kernel) do(f func() error) error {
	if k.cfg.NetNS == nil {
		return f()
	}
	return k.cfg.NetNS.Do(func(ns.NetNS) error { return f() })
}

// NetlinkStats returns the peer converger's cumulative netlink writes and
// dumps (benchmarks read it through an interface assertion).
func (k *kernel) NetlinkStats() (writes, reads uint64) {
	if k.conv == nil {
		return 0, 0
	}
	s := k.conv.Stats()
	return s.Writes, s.Reads
}
