// Package offloadtypes is the facts model of package offload, without the
// kernel: the offload verdict a node publishes, the egress path and its
// devices with their ethtool feature states, where super-packets are cut
// (SegmentationFor), the encapsulation kinds, and the lab ratios quoted in
// reasons.
//
// Why a separate package. Package offload reads these facts from the
// kernel (netlink, ethtool); the controller (pkg/agent), the decision
// (pkg/decision) and the published node facts (pkg/nodeinfo) only read,
// compare and publish them. Keeping the model here lets them link no
// netlink (a `make lint` guard); package offload re-exports every name, so
// its callers need not know the split. Nothing here touches the kernel:
// it imports only the standard library.
package offloadtypes
