// Package topofuzz generates small clusters (3-6 nodes) from the topology
// builder's building blocks, and says, independently of pkg/decision, which
// node pairs the generated network can connect and how.
//
// Why a generator: the lab's five variants are examples; users run edge
// nodes behind tunnels to a hub, nodes with a second NIC for the cluster
// network, bridge uplinks with several ports, routers that carry pod CIDRs
// for part of the network, IPv4, IPv6 and dual-stack. A product built and
// tested against the five examples black-holed traffic on the first
// topology it had not seen. Generate(seed) draws a topology from every
// building block (package topo); the same seed always gives the same
// topology, so a failing seed is a reproducible bug report
// (`oo-topo up --seed N` rebuilds its underlay).
//
// Why an oracle of its own: checking the agents against pkg/decision would
// only prove that the agents call it. Connect reasons on the graph instead:
// which L2 domains each node sits on, which of them are tunnels, where
// packets to a node IP go (the node's own domains, else its gateway: the
// router, or an edge's hub), and which routers forward pod CIDRs (the
// router's pod routes per segment, a hub's own routes to its peers). A
// pair is connectable when each end is the other's direct neighbour
// (native routing to the node IPs), when no tunnel lies on the path (one
// overlay level works), or, with a tunnel on the path, when every hop
// forwards the pod CIDRs both ways (native routing over the tunnel); an
// overlay on top of a tunnel on the path would nest two tunnel levels,
// which the product must refuse.
package topofuzz
