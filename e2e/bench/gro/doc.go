// Package gro measures whether receive-offload settings help the VXLAN
// datapath: two node namespaces over a veth underlay, one pod each, VXLAN
// between them, single pinned iperf3 stream, cases interleaved round by
// round, medians and ratios to the default settings of the same run
// (BenchmarkVXLANGRO). It prints figures and asserts nothing.
//
// The settings, with a switch for each because they help only on some
// paths (no production code sets them; this benchmark is their only
// user):
//
//   - rx-gro on the tunnel devices (oo-vxlan4/6): the VXLAN device
//     re-aggregates decapsulated inner TCP segments (gro_cells) before they
//     are forwarded to the pod veth, so the pod's stack sees ~64 KB
//     super-packets instead of MTU-sized ones. On by default for vxlan;
//     Ensure keeps it on (TunnelGRO).
//   - rx-udp-gro-forwarding on the uplink: lets the uplink's GRO aggregate
//     UDP (tunnel) packets that the node forwards rather than terminates
//     (a node routing someone else's VXLAN). Off by default; on a veth
//     uplink it only acts when veth's NAPI path is in use.
//
// The defaults (DefaultPolicy) follow the lab measurement recorded in the
// comment of DefaultPolicy; BenchmarkVXLANGRO repeats it.
//
// The ethtool ioctls act on the network namespace of the calling thread:
// call Ensure inside ns.Do for another namespace.
package gro
