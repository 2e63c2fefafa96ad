// Package nodeinfo is the per-node document each agent publishes on its own
// Node object (annotation AnnotationKey). Peers read it to compute, with the
// same inputs on both ends, the datapath of every pair.
package nodeinfo

import (
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// AnnotationKey holds the JSON-encoded Facts on each Node.
const AnnotationKey = "offload-overlay.io/node"

// FactsVersion is bumped on incompatible changes to Facts.
const FactsVersion = 1

// Facts is published by the agent on its own Node.
type Facts struct {
	Version      int    `json:"v"`
	AgentVersion string `json:"agentVersion"`
	// Endpoints are the tunnel endpoints, one per family (node IPs).
	Endpoints []Endpoint           `json:"endpoints"`
	Verdict   offloadtypes.Verdict `json:"verdict"`
	// Encaps are the tunnel kinds this node's kernel can create.
	Encaps []string `json:"encaps"`
	// UplinkMTU is the MTU of the node's uplink.
	UplinkMTU int `json:"uplinkMTU"`
	// NativeProbe maps a peer node name to whether this node reached that
	// peer's pod CIDR natively through the underlay (decision rule 2).
	NativeProbe map[string]bool `json:"nativeProbe,omitempty"`
	// UnderlayRoutes maps a peer node name to whether this node's tunnel
	// underlay carries that peer's pod CIDR (decision rule 3).
	UnderlayRoutes map[string]bool `json:"underlayRoutes,omitempty"`
	// UnderlayDefault maps a peer node name to true when only a default
	// route carries its pod CIDRs (decision.Side.CarriedByDefault).
	UnderlayDefault map[string]bool `json:"underlayDefault,omitempty"`
	// Egresses and PeerEgress are this node's view of each peer: the
	// route to its node IP, per family (PeerKey), as an index into
	// Egresses. Both ends' views decide a pair (decision.View); a node
	// without them is taken to see its peers as they see it.
	Egresses   []EgressView   `json:"egresses,omitempty"`
	PeerEgress map[string]int `json:"peerEgress,omitempty"`
	// BGP: this node announces its pod CIDRs over at least one established
	// BGP session (pkg/bgp). It words decision rule 2's reason and makes
	// peers re-probe when it changes; the probe still decides.
	BGP bool `json:"bgp,omitempty"`
}

// Endpoint is one family's tunnel endpoint on a node.
type Endpoint struct {
	IP      string `json:"ip"`      // node IP used as outer source/destination
	VTEPMAC string `json:"vtepMAC"` // MAC of the node's VXLAN device for that family
}
