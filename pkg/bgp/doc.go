// Package bgp is the agent's embedded BGP speaker: it announces this node's
// pod CIDRs to the configured peers (typically the top-of-rack router) so
// that a routed fabric carries pod traffic natively, and it reports each
// session's state for doctor, metrics and Events.
//
// Why BGP, and why the probe still decides. Peers behind a router are the
// one case the decision cannot make native on its own: the underlay does not
// know the pod CIDRs, so packets to them would be dropped, and the pair falls
// back to one VXLAN level, segmented in software where the uplink lacks
// tunnel segmentation (0.30x native in the lab). Announcing the pod CIDRs to
// the router is how Calico, Cilium and kube-router make the fabric route
// them. The announcement is only the means: a router may filter it, hold it
// for another VRF or fail to install it, so the decision (pkg/decision,
// rule 2) still goes native only when both ends' native probes succeed; the
// speaker's session state merely lets the reason say "announced over BGP,
// probe verified", and a session that goes down makes the router withdraw
// the routes, the next probe fail and the pair return to VXLAN.
//
// What is announced. Only the pod CIDRs the caller hands to Announce (the
// Node's spec.podCIDRs), each with the node IP of its family as next hop
// (IPv4 and IPv6 unicast over one session per peer, RFC 4760). Two gobgp
// policies make that a property of the speaker rather than of the caller:
// the export policy passes only locally originated paths (a learnt route is
// never re-announced to another peer, so the node is never a transit AS),
// and the import policy rejects every learnt route unless --bgp-import is
// on. Imported routes are not programmed here: Learnt returns them, and the
// agent filters them with bgptypes.ImportRules (inside the cluster CIDRs,
// never this node's pod CIDR, a node IP or a route the agent owns).
//
// Sessions. The speaker only connects (it does not listen on port 179, so
// it needs no privileged port and cannot be reached by strangers), with the
// node IP of the peer's family as source, TCP MD5 when a password is set
// (--bgp-password, from a Secret), the configured hold time and a short
// connect retry so that a router that comes back is found within seconds.
//
// Graceful restart (RFC 4724). With --bgp-graceful-restart the speaker
// advertises the capability with the forwarding-state bit set for both
// families: the kernel routes of a node survive its agent, so the router
// may keep using them. An agent that exits (upgrade, crash, SIGTERM) closes
// its TCP connections without a NOTIFICATION (Abandon), which the router
// treats as a restart: it keeps the routes as stale for the restart time
// and drops those not re-announced once the new agent sent End-of-RIB.
// Close, by contrast, says goodbye (Cease) and the router withdraws the
// routes at once: that is for BGP being turned off.
//
// gobgp is the library kube-router embeds; it links a gRPC stack, so only
// the agent binary imports this package (the CNI plugin must not:
// `make lint` checks it). Types shared with doctor and the state files live
// in bgptypes and bgpconfig, which import only the standard library.
package bgp
