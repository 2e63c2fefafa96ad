package bgptypes

import (
	"fmt"
	"net/netip"
)

// ImportRules decide which learnt routes the agent may use.
type ImportRules struct {
	// ClusterCIDRs bound what may be imported at all.
	ClusterCIDRs []netip.Prefix
	// OwnPodCIDRs are this node's: a router must never redirect them.
	OwnPodCIDRs []netip.Prefix
	// NodeIPs are every node's underlay address, this node's included.
	NodeIPs []netip.Addr
	// Owned reports whether the agent already programs a route that
	// overlaps p (a peer's pod CIDR, native or tunnelled); nil: none.
	Owned func(p netip.Prefix) bool
}

// Rejected is a learnt route the rules refused, with the reason (in JSON,
// the route's keys and "reason").
type Rejected struct {
	Route
	Reason string `json:"reason"`
}

// Filter splits learnt routes into those the agent may program and the
// rejected ones with their reason; the input order is kept.
func (r ImportRules) Filter(routes []Route) (accepted []Route, rejected []Rejected) {
	for _, rt := range routes {
		if why := r.reject(rt); why != "" {
			rejected = append(rejected, Rejected{Route: rt, Reason: why})
			continue
		}
		accepted = append(accepted, rt)
	}
	return accepted, rejected
}

func (r ImportRules) reject(rt Route) string {
	p := rt.Prefix
	if !p.IsValid() || p != p.Masked() {
		return "not a network prefix"
	}
	if !rt.NextHop.IsValid() || rt.NextHop.Is4() != p.Addr().Is4() {
		return "no next hop of the prefix's family"
	}
	if !r.insideCluster(p) {
		return "outside the cluster CIDRs"
	}
	for _, own := range r.OwnPodCIDRs {
		if own.Overlaps(p) {
			return fmt.Sprintf("overlaps this node's pod CIDR %s", own)
		}
		if own.Contains(rt.NextHop) {
			return fmt.Sprintf("next hop inside this node's pod CIDR %s", own)
		}
	}
	for _, ip := range r.NodeIPs {
		if p.Contains(ip) {
			return fmt.Sprintf("covers node IP %s", ip)
		}
	}
	if r.Owned != nil && r.Owned(p) {
		return "overlaps a route the agent owns"
	}
	return ""
}

func (r ImportRules) insideCluster(p netip.Prefix) bool {
	for _, c := range r.ClusterCIDRs {
		if c.Bits() <= p.Bits() && c.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
