package datapath

import (
	"context"
	"net"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// LocalNode is this node as the datapath needs it: its name, node IPs and
// pod CIDRs (the controller reads them from its Node object).
type LocalNode struct {
	Name string
	// IPs are the tunnel endpoints, at most one per family (IPv4 first).
	IPs []netip.Addr
	// PodCIDRs is spec.podCIDRs, at most one per family (IPv4 first).
	PodCIDRs []netip.Prefix
}

// IP returns the node IP of family (4 or 6).
func (l LocalNode) IP(family int) (netip.Addr, bool) { return netaddr.PickAddr(l.IPs, family) }

// PodCIDR returns the pod CIDR of family (4 or 6).
func (l LocalNode) PodCIDR(family int) (netip.Prefix, bool) {
	return netaddr.PickPrefix(l.PodCIDRs, family)
}

// Uplink is the inspected egress device of this node.
type Uplink struct {
	Name    string
	Index   int
	MTU     int
	Verdict offload.Verdict
	// GSOMaxSize and GROMaxSize are the largest BIG TCP sizes the uplink
	// accepts (0 or <= 65536: no BIG TCP).
	GSOMaxSize, GROMaxSize int
}

// Route is how the kernel reaches a peer's node IP.
type Route struct {
	// OnLink: the peer is on the same L2 (no gateway on the route).
	OnLink bool
	// Gateway is the underlay next hop when not on-link.
	Gateway netip.Addr
	// DeviceIndex is the egress device's ifindex. (Its name is not looked
	// up: a link dump per peer was a third of the start-up allocations at
	// 1000 peers, for a name nothing read.)
	DeviceIndex int
}

// Path is the desired datapath to one peer for one address family.
type Path struct {
	Peer    string
	Family  int // 4 or 6
	PodCIDR netip.Prefix
	// PeerIP is the peer's node IP (tunnel endpoint, or native next hop when on-link).
	PeerIP  netip.Addr
	PeerMAC net.HardwareAddr // peer's VTEP MAC (VXLAN)
	Mode    decision.Mode
	// Via is the underlay next hop for an off-link native peer.
	Via netip.Addr
	// Dev is the uplink ifindex for native routes.
	DevIndex int
	Reasons  []string
	MTU      int
	// Rule is the auto rule that chose Mode (0: forced); OnLink is the
	// route's (no gateway). Both are recorded for doctor (the controller's
	// peers file), not programmed.
	Rule   int
	OnLink bool
}

// Key identifies a path across converges.
func (p Path) Key() string { return p.Peer + "/" + p.PodCIDR.String() }

// Equal reports whether two paths program the same kernel state.
func (p Path) Equal(q Path) bool {
	return p.Peer == q.Peer && p.Family == q.Family && p.PodCIDR == q.PodCIDR && p.PeerIP == q.PeerIP &&
		p.PeerMAC.String() == q.PeerMAC.String() && p.Mode == q.Mode && p.Via == q.Via && p.DevIndex == q.DevIndex
}

// NodeSetup is what the kernel side created for this node.
type NodeSetup struct {
	// VTEPMACs by family index (0: IPv4, 1: IPv6), nil without a node IP
	// of that family: the MAC that family's VXLAN device has, or will have
	// once a VXLAN path creates it (overlay.VTEPMAC).
	VTEPMACs [2]net.HardwareAddr
}

// Kernel is everything the agent does to the node's kernel, and the whole
// interface between the controller (pkg/agent) and the datapath: desired
// node setup and paths go in, observed facts (uplink, tunnel kinds, routes,
// underlay coverage, probe results) and errors come out. The production
// implementation (New) programs netlink and iptables, optionally inside a
// network namespace that stands for the node in tests.
type Kernel interface {
	// InspectUplink finds and inspects the egress device of the node IPs.
	InspectUplink(local LocalNode) (Uplink, error)
	// Encaps lists the tunnel kinds the kernel can create ("vxlan", "geneve").
	Encaps() ([]string, error)
	// RouteTo says how the kernel reaches dst.
	RouteTo(dst netip.Addr) (Route, error)
	// Carries reports whether a route on device dev (the tunnel underlay,
	// not a route of ours) covers cidr (decision rule 3).
	Carries(dev string, cidr netip.Prefix) (bool, error)
	// EnsureNode puts the probe addresses on lo and adopts existing tunnel
	// devices; a family's VXLAN device (with this node's VTEP address of
	// that family) is created by its first VXLAN path (ApplyPaths or
	// ResyncPaths).
	EnsureNode(local LocalNode, up Uplink) (NodeSetup, error)
	// EnsureMasquerade installs the masquerade chains for podCIDRs.
	EnsureMasquerade(podCIDRs, clusterCIDRs []netip.Prefix) error
	// ApplyPaths converges peer paths: upsert are added or changed, remove
	// are gone. It touches only those paths (O(1) netlink calls each).
	ApplyPaths(upsert, remove []Path) error
	// ResyncPaths first puts back what EnsureNode made if it is gone (VTEP
	// address, probe addresses on lo, tunnel device), then diffs the kernel
	// against the complete desired set and repairs what differs (never
	// flushes).
	ResyncPaths(all []Path) error
	// ProbeNative sends an ICMP echo from our probe address to the peer's
	// probe address via the underlay next hop gw (see doc.go).
	ProbeNative(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error
	// WatchRoutes calls changed whenever a route that is not ours changes
	// (an underlay change), until ctx ends.
	WatchRoutes(ctx context.Context, changed func()) error
	// Cleanup removes everything the agent created; podCIDRs (from the
	// state file) name the probe addresses on lo.
	Cleanup(podCIDRs []netip.Prefix) error
}
