package peers

import (
	"net"
	"net/netip"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

// RouteProtocol marks every route this package installs
// (`ip route ... proto 0x4f`); Resync and Cleanup only touch routes with it.
const RouteProtocol = 0x4f

// Endpoint is one family's tunnel endpoint of a peer.
type Endpoint struct {
	// NodeIP is the peer's node IP of this family (outer destination for
	// VXLAN, gateway for on-link native).
	NodeIP netip.Addr
	// VTEPMAC is the MAC of the peer's VXLAN device of this family.
	VTEPMAC net.HardwareAddr
	// NextHop is the underlay next hop towards the peer for an off-link
	// native path; invalid (zero) means the peer is on-link.
	NextHop netip.Addr
	// Dev is the ifindex the kernel's route to NodeIP leaves by (the
	// per-peer egress device: a second NIC, a tunnel to a hub); 0 means the
	// family's uplink. A native route leaves by the same device, never by
	// "the uplink" when the node IP's route says otherwise.
	Dev int
}

// Peer is the desired datapath towards one other node.
type Peer struct {
	// Name is the peer's Node name, the identity used by ApplyPeer/RemovePeer.
	Name string
	// Mode is the decided datapath: native, vxlan, or unreachable.
	Mode decision.Mode
	// PodCIDRs are the peer's spec.podCIDRs (at most one per family).
	PodCIDRs []netip.Prefix
	// Endpoints holds at most one endpoint per family; a pod CIDR is
	// routed through the endpoint of its own family.
	Endpoints []Endpoint
}

// Links are the ifindexes the converger programs on.
type Links struct {
	// VXLAN4 and VXLAN6 are the VXLAN devices (oo-vxlan4/oo-vxlan6) per
	// outer family; 0 when absent (VXLAN peers of that family are skipped).
	VXLAN4, VXLAN6 int
	// Uplink4 and Uplink6 are the uplinks per family, used for native
	// routes; 0 lets the kernel resolve the gateway's device (no onlink).
	Uplink4, Uplink6 int
}

func (l Links) vxlan(family int) int {
	if family == 6 {
		return l.VXLAN6
	}
	return l.VXLAN4
}

func (l Links) uplink(family int) int {
	if family == 6 {
		return l.Uplink6
	}
	return l.Uplink4
}

// Report summarises one Apply or Resync.
type Report struct {
	// Writes is the number of netlink writes (adds, replaces, deletes).
	Writes int
	// Reads is the number of netlink dumps.
	Reads int
	// NetlinkTime is the wall time spent inside netlink calls.
	NetlinkTime time.Duration
	// Skipped maps every peer currently without (or with only part of) its
	// datapath to why: missing endpoint, no tunnel
	// device, Geneve. It covers all desired peers, not only this call's.
	Skipped map[string]string
	// Failed maps every peer whose kernel objects the kernel refused, at
	// the last attempt, to the error: one peer's bad endpoint (a local or
	// broadcast address, an unreachable next hop) fails only that peer,
	// every other peer is programmed. A peer leaves it when a later call
	// programs it or removes it. Covers all desired peers.
	Failed map[string]string
}

// Stats are cumulative netlink call counts of a Converger.
type Stats struct {
	Writes, Reads uint64
	// NetlinkTime is the wall time spent inside netlink calls.
	NetlinkTime time.Duration
}
