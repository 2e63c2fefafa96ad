// Package doctor explains, for one node, where TCP super-packets are cut on
// the way to a peer and which datapath the agent would choose, so that
// nobody has to read `ethtool -k` on every device by hand.
//
// It reads this node's kernel: the route to the peer (or the default
// route), every device below it with its ethtool features, and which tunnel
// kinds the kernel can create. It needs no Kubernetes API, so it works on a
// node that is broken.
//
// The kernel alone cannot tell what the peer published, whether both native
// probes succeeded (decision rule 2) or whether the peer's tunnel underlay
// carries our pod CIDR (rule 3). The agent records all of that per pair in
// its peers file (pkg/state/peerstate); when doctor finds the peer there,
// it decides the pair again from that record plus the local kernel as read
// now, so it prints the mode the agent programs (decision.source
// "agent-state") and names any drift since. Without the file, doctor
// assumes a peer of the same kind as this node, which is what a homogeneous
// cluster sees, and says so in the reasons ("local-kernel-only").
//
// The JSON rendering is a stable interface for scripts (documented in the
// README, "doctor" section): keys are only ever added. The text rendering
// is for people and may change.
package doctor
