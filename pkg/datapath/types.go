package datapath

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
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
	Verdict offloadtypes.Verdict
	// GSOMaxSize and GROMaxSize are the largest BIG TCP sizes the uplink
	// accepts (0 or <= 65536: no BIG TCP).
	GSOMaxSize, GROMaxSize int
}

// Route is how the kernel reaches a peer's node IP: the route it picks
// (after `ip rule` policy routing, every ECMP next hop) and the walk below
// its devices (offload.Egress). A native route to the peer's pod CIDR
// copies it, and the pair's offload verdict, tunnel underlay and MTU are
// read from it, never from "the uplink".
type Route struct {
	// OnLink: every next hop is the peer itself on an Ethernet device (no
	// gateway).
	OnLink bool
	// Gateway is the underlay next hop when not on-link.
	Gateway netip.Addr
	// DeviceIndex is the egress device's ifindex, Device and Kind its name
	// and rtnetlink kind.
	DeviceIndex  int
	Device, Kind string
	// Source is the route's preferred source address.
	Source netip.Addr
	// MTU is the smallest MTU on the way (the hops' devices, the route's
	// mtu metric).
	MTU int
	// Verdict is the offload verdict of the walk below the hops' devices.
	Verdict offloadtypes.Verdict
}

// Sig is a comparable summary of r: equal Sigs decide a pair the same way.
func (r Route) Sig() string {
	v := r.Verdict
	return fmt.Sprintf("%t/%s/%d/%s/%s/%s/%d/%t/%t/%s/%s/%s", r.OnLink, r.Gateway, r.DeviceIndex, r.Device, r.Kind, r.Source, r.MTU,
		v.TunnelSegmentation, v.TunnelSegmentationCsum, v.UnderlayTunnel, v.UnderlayTunnelDevice, v.Blocker)
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
	// DevIndex is the egress device towards PeerIP (Route.DeviceIndex):
	// native routes leave by it.
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
// implementation (package datapath/linux, linux.New) programs netlink,
// iptables and nftables, optionally inside a network namespace that stands
// for the node in tests.
type Kernel interface {
	// InspectUplink finds and inspects the egress device of the node IPs.
	InspectUplink(local LocalNode) (Uplink, error)
	// Encaps lists the tunnel kinds the kernel can create ("vxlan", "geneve").
	Encaps() ([]string, error)
	// RouteTo says how the kernel reaches dst.
	RouteTo(dst netip.Addr) (Route, error)
	// ForgetRoutes drops what RouteTo and Carries cached (a full converge
	// after a route or device change reads everything again).
	ForgetRoutes()
	// Carries reports whether this node's own routes (not ours; a default
	// route counts, byDefault says it was one) send cidr the way they send
	// dst (decision rules 2 and 3; UnderlayCarries).
	Carries(dst netip.Addr, cidr netip.Prefix) (carries, byDefault bool, err error)
	// EndpointChecker returns a check of a peer's endpoint against this
	// node's addresses, subnets and routes (read once, when called).
	EndpointChecker() (func(netip.Addr) error, error)
	// EnsureFirewall closes the VXLAN port to all but the peers' endpoints
	// and to this node's pods (pkg/firewall); a no-op when disabled.
	EnsureFirewall(peerIPs []netip.Addr, localPodCIDRs, podCIDRs []netip.Prefix) error
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
	// probe address via the underlay next hop gw (see pkg/agent/doc.go).
	ProbeNative(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error
	// WatchRoutes calls changed whenever a route that is not ours changes
	// (an underlay change), until ctx ends.
	WatchRoutes(ctx context.Context, changed func()) error
	// Cleanup removes everything the agent created; podCIDRs (from the
	// state file) name the probe addresses on lo.
	Cleanup(podCIDRs []netip.Prefix) error
}
