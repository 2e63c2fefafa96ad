// Package admission decides which remote Nodes this node accepts as peers,
// once per converge and before any path is computed: it parses and
// validates each Node's published facts (the offload-overlay.io/node
// annotation and spec.podCIDRs) and orders conflicts between nodes (an
// overlapping pod CIDR, a node IP inside the pod network or one of ours,
// a VTEP MAC another node uses), the older Node winning. What it returns is
// conflict-free: no two admitted peers share or overlap a pod CIDR or share
// a VTEP MAC of one family, so the datapath (pkg/peers' converger) programs
// the paths it is given and never has to pick a winner itself.
package admission

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
)

// Peer is a remote node whose annotation and pod CIDRs passed validation.
type Peer struct {
	Name string
	// RV is the Node's resourceVersion when it was parsed ("" in tests).
	RV       string
	Facts    nodeinfo.Facts
	PodCIDRs []netip.Prefix
	// Endpoints by family index (0: IPv4, 1: IPv6); invalid when absent.
	IPs  [2]netip.Addr
	MACs [2]net.HardwareAddr
}

// Ignored is a node that is not used as a peer, and why.
type Ignored struct {
	Name   string
	Reason string
}

// ErrNotYet marks nodes that are not peers yet (no annotation or no pod
// CIDR): normal during bootstrap, logged at debug level only.
var ErrNotYet = errors.New("not published yet")

// Admit validates every remote node (parse is Parse, or a Cache's Parse)
// and resolves conflicts: a pod CIDR that overlaps ours, a cluster CIDR
// mismatch, one of our node IPs, another peer's pod CIDR or VTEP MAC is
// ignored. Between two conflicting peers the older Node (creation time,
// then name) wins, so the outcome is the same whether the agent sees the
// nodes one by one or all at once. waiting are nodes that have not
// published yet (ErrNotYet); the returned peers are sorted by name.
func Admit(parse func(*corev1.Node) (Peer, error), local datapath.LocalNode, clusterCIDRs []netip.Prefix, nodes []*corev1.Node) (peers []Peer, ignored []Ignored, waiting []string) {
	return AdmitChecked(parse, local, clusterCIDRs, nodes, nil)
}

// EndpointCheck says whether this node's kernel accepts ip as a peer's
// endpoint (see endpoint.CheckLocal: not one of our addresses, not a
// subnet's network or broadcast address, routed as unicast).
type EndpointCheck func(ip netip.Addr) error

// AdmitChecked is Admit with each candidate's endpoints also checked
// against this node's kernel (check nil: no kernel check).
func AdmitChecked(parse func(*corev1.Node) (Peer, error), local datapath.LocalNode, clusterCIDRs []netip.Prefix, nodes []*corev1.Node, check EndpointCheck) (peers []Peer, ignored []Ignored, waiting []string) {
	nodes = append([]*corev1.Node(nil), nodes...)
	sort.Slice(nodes, func(i, j int) bool { return olderFirst(nodes[i], nodes[j]) })
	var candidates []Peer
	for _, n := range nodes {
		if n.Name == local.Name {
			continue
		}
		p, err := parse(n)
		switch {
		case errors.Is(err, ErrNotYet):
			waiting = append(waiting, n.Name)
		case err != nil:
			ignored = append(ignored, Ignored{n.Name, err.Error()})
		default:
			err := endpointsElsewhere(p, local, clusterCIDRs)
			if err == nil && check != nil {
				err = checkEndpoints(p, check)
			}
			if err != nil {
				ignored = append(ignored, Ignored{n.Name, err.Error()})
				continue
			}
			candidates = append(candidates, p)
		}
	}
	candidates, claimants := blameClaimants(candidates, local)
	ignored = append(ignored, claimants...)
	idx := newCIDRIndex(candidates)
	for _, ip := range local.IPs {
		idx.addEndpoint(ip, "this node")
	}
	for _, p := range candidates {
		for _, ip := range p.IPs {
			if ip.IsValid() {
				idx.addEndpoint(ip, "node "+p.Name)
			}
		}
	}
	for _, pc := range local.PodCIDRs {
		idx.take(pc, "this node")
	}
	macs := map[[2]string]string{} // (family, VTEP MAC) -> node: one FDB entry each
	ips := map[netip.Addr]string{} // endpoint -> node: one machine each
	for _, p := range candidates {
		err := checkPlacement(p, clusterCIDRs, idx)
		if err == nil {
			err = checkIPs(p, ips) // before the MACs: a copied IP also copies its derived MAC
		}
		if err == nil {
			err = checkMACs(p, macs)
		}
		if err != nil {
			ignored = append(ignored, Ignored{p.Name, err.Error()})
			continue
		}
		for _, pc := range p.PodCIDRs {
			idx.take(pc, "node "+p.Name)
		}
		for i, m := range p.MACs {
			if m != nil {
				macs[[2]string{fmt.Sprint(i), m.String()}] = p.Name
			}
		}
		for _, ip := range p.IPs {
			if ip.IsValid() {
				ips[ip] = p.Name
			}
		}
		peers = append(peers, p)
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].Name < peers[j].Name })
	return peers, ignored, waiting
}

// endpointsElsewhere rejects a peer whose node IP is one of ours (its
// routes would loop back to this node) or lies inside the pod network (a
// cluster CIDR or our pod CIDR): no real node has one, and once indexed it
// would make checkPlacement ignore the legitimate peer whose pod CIDR
// contains it.
func endpointsElsewhere(p Peer, local datapath.LocalNode, cluster []netip.Prefix) error {
	for _, ip := range p.IPs {
		if !ip.IsValid() {
			continue
		}
		if slices.Contains(local.IPs, ip) {
			return fmt.Errorf("node IP %s is this node's", ip)
		}
		for _, c := range slices.Concat(cluster, local.PodCIDRs) {
			if c.Contains(ip) {
				return fmt.Errorf("node IP %s lies inside the pod network %s", ip, c)
			}
		}
	}
	return nil
}

// checkMACs rejects a VTEP MAC an older peer already uses on that family's
// VXLAN device: the FDB holds one entry per MAC, so a copy would take over
// (or, placed first, lock out) the older peer's tunnel.
func checkMACs(p Peer, taken map[[2]string]string) error {
	for i, m := range p.MACs {
		if m == nil {
			continue
		}
		if owner, ok := taken[[2]string{fmt.Sprint(i), m.String()}]; ok {
			return fmt.Errorf("VTEP MAC %s is also node %s's", m, owner)
		}
	}
	return nil
}

// checkPlacement rejects a pod CIDR outside the cluster CIDRs, one that
// covers any node's tunnel endpoint (the route would swallow the underlay),
// and one that overlaps a CIDR already taken.
func checkPlacement(p Peer, clusterCIDRs []netip.Prefix, idx *cidrIndex) error {
	for _, c := range p.PodCIDRs {
		if outside(c, clusterCIDRs) {
			return fmt.Errorf("pod CIDR %s is outside the cluster CIDRs %v", c, clusterCIDRs)
		}
		if ip, owner, ok := idx.endpointIn(c); ok {
			return fmt.Errorf("pod CIDR %s contains the node IP %s of %s", c, ip, owner)
		}
		if t, owner, ok := idx.overlap(c); ok {
			return fmt.Errorf("pod CIDR %s overlaps %s of %s", c, t, owner)
		}
	}
	return nil
}

// outside reports whether c lies outside the cluster CIDR of its family
// (false when that family has no cluster CIDR configured).
func outside(c netip.Prefix, cluster []netip.Prefix) bool {
	for _, o := range cluster {
		if netaddr.Family(o.Addr()) != netaddr.Family(c.Addr()) {
			continue
		}
		return !(o.Bits() <= c.Bits() && o.Contains(c.Addr()))
	}
	return false
}

func olderFirst(a, b *corev1.Node) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Name < b.Name
}

// checkEndpoints runs the kernel check on each of p's endpoints.
func checkEndpoints(p Peer, check EndpointCheck) error {
	for _, ip := range p.IPs {
		if ip.IsValid() {
			if err := check(ip); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkIPs rejects an endpoint an older peer already has: two Nodes
// cannot be one machine, and the copy would draw the older peer's
// tunnel traffic or replies to itself.
func checkIPs(p Peer, taken map[netip.Addr]string) error {
	for _, ip := range p.IPs {
		if owner, ok := taken[ip]; ip.IsValid() && ok {
			return fmt.Errorf("node IP %s is also node %s's", ip, owner)
		}
	}
	return nil
}

// blameClaimants drops the candidates whose endpoint lies inside a pod CIDR
// of another node (or of this one), whatever their age. Pod CIDRs are
// allocated by the control plane (spec.podCIDRs, which agents cannot
// write), endpoints are published by each node: when the two disagree the
// claimant is wrong, and keeping it would make checkPlacement refuse the
// honest owner of the pod CIDR ("contains the node IP of ..."). With a
// cluster CIDR per family, endpointsElsewhere already refuses such
// endpoints; this covers a family without one.
func blameClaimants(candidates []Peer, local datapath.LocalNode) (kept []Peer, blamed []Ignored) {
	owners := map[netip.Prefix]string{}
	lens := map[int]bool{}
	add := func(c netip.Prefix, owner string) {
		owners[c.Masked()] = owner
		lens[c.Bits()] = true
	}
	for _, c := range local.PodCIDRs {
		add(c, "this node")
	}
	for _, p := range candidates {
		for _, c := range p.PodCIDRs {
			// A pod CIDR that covers its own node's endpoint or ours is
			// the offender itself (checkPlacement refuses it): it blames
			// nobody.
			if !coversAny(c, p.IPs[:]) && !coversAny(c, local.IPs) {
				add(c, "node "+p.Name)
			}
		}
	}
	for _, p := range candidates {
		if err := claims(p, owners, lens); err != nil {
			blamed = append(blamed, Ignored{p.Name, err.Error()})
			continue
		}
		kept = append(kept, p)
	}
	return kept, blamed
}

func coversAny(c netip.Prefix, ips []netip.Addr) bool {
	for _, ip := range ips {
		if ip.IsValid() && c.Contains(ip) {
			return true
		}
	}
	return false
}

func claims(p Peer, owners map[netip.Prefix]string, lens map[int]bool) error {
	for _, ip := range p.IPs {
		if !ip.IsValid() {
			continue
		}
		for b := range lens {
			pre, err := ip.Prefix(b)
			if err != nil {
				continue
			}
			if owner, ok := owners[pre]; ok {
				return fmt.Errorf("node IP %s lies inside the pod CIDR %s of %s", ip, pre, owner)
			}
		}
	}
	return nil
}
