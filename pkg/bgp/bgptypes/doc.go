// Package bgptypes holds what the BGP speaker (pkg/bgp) shares with the
// rest of the agent, doctor, metrics and the state files: the announcement
// it is asked to make, the state of each session, the routes it learnt and
// the rule that filters them. It imports only the standard library, so
// readers of these facts do not link gobgp.
//
// The import rule is here, pure and table-tested, because it is a safety
// rule rather than a BGP detail: a route learnt from a router is accepted
// only inside the cluster CIDRs, never for this node's own pod CIDR, never
// for a node IP (that would let a router steer the underlay itself), and
// never over a route the agent already owns for a peer.
package bgptypes
