// Package datapath is the node agent's kernel side: everything the agent
// does to the node's kernel, behind one narrow interface (Kernel) that the
// controller (pkg/agent) drives.
//
// Desired state goes in, observed facts and errors come out:
//
//   - in: this node (LocalNode: name, node IPs, pod CIDRs) for EnsureNode
//     and EnsureMasquerade, and the per-peer paths (Path: peer, family, pod
//     CIDR, node IP, VTEP MAC, mode, next hop) for ApplyPaths (a diff) and
//     ResyncPaths (the complete set, re-read from the kernel and repaired);
//   - out: the uplink (InspectUplink: device, MTU, offload verdict, BIG TCP
//     sizes), the tunnel kinds the kernel can create (Encaps), how the
//     kernel reaches a peer (RouteTo), whether the tunnel underlay carries a
//     pod CIDR (Carries, decision rule 3), native probe results
//     (ProbeNative), underlay route changes (WatchRoutes), and errors.
//
// It imports nothing from Kubernetes (a `make lint` guard): the controller
// parses Nodes, admits peers and decides modes; the datapath never sees a
// Node. Inside, the pieces are the existing single-purpose packages:
// offload inspects, overlay owns the tunnel devices, peers converges
// routes, neighbours and FDB entries, masq owns the OO-MASQ chains.
//
// Cleanup is one entry point that removes everything the agent put into
// the kernel (the `cleanup` subcommand, which builds only this package and
// its dependencies): routes tagged with peers.RouteProtocol and probe
// routes, the oo-* tunnel devices (and with them every FDB entry and
// neighbour on them), the probe addresses on lo, and the OO-MASQ iptables
// chains. It exists so that cleanup cannot forget a piece as the datapath
// grows. Shutdown (SIGTERM) does NOT call it: an agent restart must leave
// the datapath in place so established pod connections survive.
package datapath
