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
// The auto rules, in order (connectivity first, then speed, never two
// tunnel levels):
//  1. on-link peer (no gateway, also across an L2 tunnel underlay): native;
//  2. the underlay routes pod CIDRs both ways (operator flag, or both native
//     probes succeeded): native via the underlay next hop. When the pod
//     CIDRs were announced over BGP (Side.BGPAnnounced) the reason says
//     "announced over BGP, probe verified": BGP is the means, the probe
//     stays the proof, so a router that ignores the announcement keeps the
//     pair on VXLAN and the reason says so;
//  3. the underlay is itself a tunnel: native over it when both ends' tunnels
//     carry the other's pod CIDR, else unreachable with the exact remedy,
//     unless allowNestedEncap accepts a tunnel inside the tunnel (0.20x);
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
// uplink MTU minus its overhead, and mtu.PodMTU takes the smallest in use, so
// a node whose peers are all native keeps its full uplink MTU.
package decision
