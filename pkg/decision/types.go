package decision

import "github.com/offload-overlay/offload-overlay/pkg/offload"

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
	Verdict offload.Verdict `json:"verdict"`
	// Encaps are the tunnel kinds this node's kernel can create ("vxlan", "geneve").
	Encaps []string `json:"encaps"`
	// UplinkMTU is the MTU of the node's egress device towards the peer.
	UplinkMTU int `json:"uplinkMTU"`
	// NativeProbeOK: this node verified the peer's pod CIDR answers natively.
	NativeProbeOK bool `json:"nativeProbeOK"`
	// UnderlayCarriesPeerPodCIDR: this node's tunnel underlay has a route (or
	// WireGuard AllowedIPs) covering the peer's pod CIDR (rule 3).
	UnderlayCarriesPeerPodCIDR bool `json:"underlayCarriesPeerPodCIDR"`
	// BGPAnnounced: this node announces its pod CIDR over an established
	// BGP session (pkg/bgp). It only words rule 2's reason: the native
	// probes stay the proof that the fabric routes the pod CIDRs.
	BGPAnnounced bool `json:"bgpAnnounced,omitempty"`
}

// Input is one pair (local, peer) as seen from the local node.
type Input struct {
	Local, Peer Side
	// OnLink: the peer's node IP is on the same L2 (no gateway on the route).
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
	// MTU is the pod MTU this path allows (local uplink MTU minus overhead).
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
