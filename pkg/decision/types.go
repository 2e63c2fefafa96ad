package decision

import "github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"

// Mode is a datapath towards one peer (or, as configured, the requested one).
type Mode string

const (
	ModeAuto        Mode = "auto"
	ModeNative      Mode = "native"
	ModeVXLAN       Mode = "vxlan"
	ModeGeneve      Mode = "geneve"
	ModeUnreachable Mode = "unreachable"
)

// Config is the operator's choice (agent flags, also taken by doctor).
type Config struct {
	Mode Mode `json:"mode"` // auto (default), vxlan, geneve, native
	// Encap is the tunnel auto uses when it must encapsulate: vxlan
	// (default, "") or geneve. When either kernel cannot create it, auto
	// falls back to VXLAN and says so.
	Encap                  Mode `json:"encap,omitempty"`
	UnderlayRoutesPodCIDRs bool `json:"underlayRoutesPodCIDRs"` // the underlay routes every node's pod CIDR (cloud route table, BGP)
	AllowNestedEncap       bool `json:"allowNestedEncap"`       // accept a tunnel inside a tunnel (slow; measured in the lab)
}

// Side is what one node of a pair contributes to the decision; every field
// is published in the node annotation so the peer sees the same values. The
// JSON form is how the agent records each pair's inputs for doctor
// (pkg/state/peerstate).
type Side struct {
	Verdict offloadtypes.Verdict `json:"verdict"`
	// Encaps are the tunnel kinds this node's kernel can create ("vxlan", "geneve").
	Encaps []string `json:"encaps"`
	// UplinkMTU is the MTU of the node's egress device towards the peer.
	UplinkMTU int `json:"uplinkMTU"`
	// NativeProbeOK: this node verified the peer's pod CIDR answers natively.
	NativeProbeOK bool `json:"nativeProbeOK"`
	// UnderlayCarriesPeerPodCIDR: this node's own routes (a default route
	// included, the agent's excluded) send the peer's pod CIDR the way they
	// send the peer's node IP (offload.Carries), e.g. a tunnel underlay
	// with a route or WireGuard AllowedIPs covering it (rules 2 and 3).
	UnderlayCarriesPeerPodCIDR bool `json:"underlayCarriesPeerPodCIDR"`
	// CarriedByDefault: only a default route carries it (no route names
	// the pod CIDR). Through a gateway that proves nothing of the
	// gateway's routes; a route naming the pod CIDR is the operator's word.
	CarriedByDefault bool `json:"carriedByDefault,omitempty"`
	// BGPAnnounced: this node announces its pod CIDR over an established
	// BGP session (pkg/bgp). It only words rule 2's reason: the native
	// probes stay the proof that the fabric routes the pod CIDRs.
	BGPAnnounced bool `json:"bgpAnnounced,omitempty"`
	// View is what this node's kernel does with packets to the other end's
	// node IP, published per peer: both ends' views decide the pair (rule
	// 1 needs both ends on-link; a one-sided route is never programmed).
	View View `json:"view"`
}

// View is one end's route to the other end's node IP (offload.EgressTo).
// Verdict, UplinkMTU and UnderlayCarriesPeerPodCIDR of the same Side are
// read on the device this route leaves by.
type View struct {
	// Known: the end published its view of this peer. Facts from an agent
	// that publishes none fall back to Input.OnLink for that end.
	Known bool `json:"known"`
	// OnLink: no gateway on every next hop, Ethernet devices: this end can
	// route the other's pod CIDR straight to its node IP.
	OnLink bool `json:"onLink"`
	// Egress and EgressKind name the route's output device ("eth1",
	// "vxlan"); used in reasons.
	Egress     string `json:"egress,omitempty"`
	EgressKind string `json:"egressKind,omitempty"`
	// Gateway is the route's next hop ("" on-link or through an L3
	// device).
	Gateway string `json:"gateway,omitempty"`
	// Source is the address this end sends from towards the other (the
	// route's preferred source). When the other end's Gateway is this
	// address, the other end's next hop is this node itself (a
	// point-to-point tunnel to a hub): a direct neighbour, like on-link.
	Source string `json:"source,omitempty"`
}

// Input is one pair (local, peer) as seen from the local node.
type Input struct {
	Local, Peer Side
	// OnLink: the peer's node IP is on the same L2 (no gateway on the
	// route), as seen from this node; it stands for an end whose Side has
	// no View (an agent that publishes no per-peer view).
	OnLink bool
	// IPv6Underlay: the tunnel endpoints are IPv6 (70 bytes of VXLAN overhead).
	IPv6Underlay bool
	// PeerPodCIDR is used in reasons and remedies ("add 10.244.2.0/24 to ...").
	PeerPodCIDR string
	// PeerNodeIP is used in reasons.
	PeerNodeIP string
}

// Result is the datapath chosen for a pair.
type Result struct {
	Mode Mode
	// MTU is the pod MTU this path allows: the smaller of both ends'
	// egress MTUs towards each other, minus the overhead.
	MTU int
	// Segmentation says where super-packets are cut: "nic" (hardware or
	// pass-through), "software" (GSO before the uplink), or "" if unreachable.
	Segmentation string
	Reasons      []string
	// Rule is the auto rule (1-5) that chose the mode; 0 for forced modes.
	Rule int
	// Overhead is the encapsulation overhead in bytes (0 for native).
	Overhead int
	// Nested: the overlay tunnel runs inside a tunnel underlay
	// (allowNestedEncap), so super-packets are cut before the second level.
	Nested bool
}
