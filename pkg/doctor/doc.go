// Package doctor explains, for one node, where TCP super-packets are cut on
// the way to a peer and which datapath the agent would choose, so that
// nobody has to read `ethtool -k` on every device by hand.
//
// It reads only this node's kernel: the route to the peer (or the default
// route), every device below it with its ethtool features, and which tunnel
// kinds the kernel can create. It needs no running agent and no Kubernetes
// API, so it works on a node that is broken. The peer's facts are unknown
// here; doctor assumes a peer of the same kind as this node, which is what a
// homogeneous cluster sees, and says so in the reasons.
//
// The JSON rendering is a stable interface for scripts (documented in the
// README, "doctor" section): keys are only ever added. The text rendering
// is for people and may change.
package doctor
