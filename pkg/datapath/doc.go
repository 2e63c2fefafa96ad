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
//     (ProbeNative), underlay route changes (WatchRoutes), and errors
//     (FailedPaths separates the paths the kernel refused, PathError, from
//     a failure of the node as a whole).
//
// It imports nothing from Kubernetes (a `make lint` guard): the controller
// parses Nodes, admits peers and decides modes; the datapath never sees a
// Node.
//
// This package is the interface and its value types only, and links no
// netlink, iptables or nftables (another guard: the controller imports it).
// The implementation is package datapath/linux (New), which the agent
// binary builds and hands to the controller. Inside it, the pieces are the
// existing single-purpose packages: offload inspects, overlay owns the
// tunnel devices, peers converges routes, neighbours and FDB entries, masq
// owns the OO-MASQ chains, firewall the VXLAN filter.
package datapath
