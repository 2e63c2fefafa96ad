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
			if err := endpointsElsewhere(p, local, clusterCIDRs); err != nil {
				ignored = append(ignored, Ignored{n.Name, err.Error()})
				continue
			}
			candidates = append(candidates, p)
		}
	}
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
	for _, p := range candidates {
		err := checkPlacement(p, clusterCIDRs, idx)
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
