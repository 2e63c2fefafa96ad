// Package peerstate is the agent's record of every pair it decided: the
// inputs it fed to decision.Decide (both nodes' sides, on-link), the mode,
// MTU, rule and reasons, for each peer and address family.
//
// Why a second file next to the node state: doctor reads only this node's
// kernel and needs no Kubernetes API, so on its own it cannot know what the
// peer published, whether both native probes succeeded (decision rule 2) or
// whether the tunnel underlay carries the peer's pod CIDR (rule 3). With
// this file doctor recomputes the pair from the agent's recorded peer side
// and probe/underlay facts plus the local kernel it inspects fresh, so it
// prints the mode the agent programs, not the mode of an imagined peer like
// this node.
//
// It is a separate package from pkg/state on purpose: pkg/state is read by
// the CNI plugin on every pod ADD and stays free of the decision and offload
// packages (ethtool); only the agent and doctor import this one.
//
// The agent rewrites the file atomically (pkg/state.WriteFileAtomic), only
// when its content changed, and `offload-overlay-agent cleanup` removes it.
package peerstate
