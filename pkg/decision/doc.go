// Package decision chooses, per pair of nodes, the datapath between their
// pods: native routing, one VXLAN (or Geneve) level, or nothing, and the pod
// MTU that follows.
//
// Why a pure function. Both ends of a pair must pick the same datapath: an
// asymmetric pair (native one way, VXLAN the other) breaks rp_filter and
// conntrack. Each agent therefore computes Decide from the same inputs, its
// own published facts and the peer's (offload verdict, tunnel kinds its
// kernel can create, native probe results), and every rule combines the two
// sides symmetrically; a property test checks Decide(Swap(in)) == Decide(in).
//
// Both views. Each end publishes, per peer, what its own kernel does with
// packets to the other's node IP (View: on-link or through a gateway, on
// which device; the offload verdict, MTU and tunnel underlay read on that
// device; whether its own routes, a default route included, carry the
// other's pod CIDR the same way). The two views of a pair can differ: a hub
// reaches an edge node on-link through a tunnel interface while the edge
// reaches the hub through a gateway. The rules combine both views, so both
// ends pick the same path or both report the pair unreachable with the same
// rule, and never is a native route programmed on one end only.
//
// The auto rules, in order (connectivity first, then speed, never two
// tunnel levels):
//  1. each end a direct neighbour of the other: on-link (no gateway, also
//     across an L2 tunnel underlay), or its gateway is the address the other
//     end sends from towards it (an edge behind a point-to-point tunnel whose
//     far end is the hub): native;
//  2. each end reaches the other's pods natively without a tunnel claim:
//     the operator flag, or each end is on-link or its native probe
//     succeeded: native via the underlay next hop. When the pod CIDRs were
//     announced over BGP (Side.BGPAnnounced) the reason says "announced
//     over BGP, probe verified": BGP is the means, the probe stays the
//     proof, so a router that ignores the announcement keeps the pair on
//     VXLAN and the reason says so;
//  3. either end's path is itself a tunnel: native over it when each end
//     delivers the other's pod CIDR (a direct neighbour, its native probe,
//     or a point-to-point tunnel without gateway whose routes carry it; a
//     carrying route through a gateway proves nothing of the gateway's own
//     routes), else unreachable with the exact remedy per end, unless
//     allowNestedEncap accepts a tunnel inside the tunnel (0.20x);
//  4. both ends segment UDP tunnels: one VXLAN level, cut by the NIC (0.80x);
//  5. otherwise one VXLAN level cut in software (0.30x): connectivity beats
//     speed, and the reason names the device, the feature and the remedy.
//
// Forced modes do what they say, but a forced tunnel still refuses to nest
// without allowNestedEncap, and a forced Geneve on a kernel without it is
// unreachable with that reason rather than silently VXLAN.
//
// Overheads come from one table of named header sizes (package mtu, VXLAN
// over IPv4: 20 + 8 + 8 + 14 = 50; over IPv6: 70); a result's MTU is the
// smaller of both ends' egress MTUs towards each other (a native pair
// across a tunnel underlay gets the tunnel's MTU) minus its overhead, and
// mtu.PodMTU takes the smallest in use, so a node whose peers are all
// native over full-size paths keeps its full uplink MTU.
package decision
