package agent

import (
	"encoding/json"
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

// errNotYet marks nodes that are not peers yet (no annotation or no pod
// CIDR): normal during bootstrap, logged at debug level only.
var errNotYet = errors.New("not published yet")

// peerFrom validates one remote Node on its own: annotation, version,
// endpoints, pod CIDRs. Overlaps are checked across nodes by selectPeers.
func peerFrom(n *corev1.Node) (Peer, error) {
	p := Peer{Name: n.Name, RV: n.ResourceVersion}
	raw, ok := n.Annotations[nodeinfo.AnnotationKey]
	if !ok {
		return p, fmt.Errorf("no %s annotation: %w", nodeinfo.AnnotationKey, errNotYet)
	}
	if err := json.Unmarshal([]byte(raw), &p.Facts); err != nil {
		return p, fmt.Errorf("malformed %s annotation: %w", nodeinfo.AnnotationKey, err)
	}
	if p.Facts.Version != nodeinfo.FactsVersion {
		return p, fmt.Errorf("annotation version %d, this agent understands %d", p.Facts.Version, nodeinfo.FactsVersion)
	}
	if err := p.parseEndpoints(); err != nil {
		return p, err
	}
	cidrs, err := parsePodCIDRs(n)
	if err != nil {
		return p, err
	}
	if len(cidrs) == 0 {
		return p, fmt.Errorf("no spec.podCIDRs: %w", errNotYet)
	}
	for _, c := range cidrs {
		if err := routablePodCIDR(c); err != nil {
			return p, err
		}
	}
	p.PodCIDRs = cidrs
	return p, nil
}

func (p *Peer) parseEndpoints() error {
	for _, ep := range p.Facts.Endpoints {
		ip, err := netip.ParseAddr(ep.IP)
		if err != nil {
			return fmt.Errorf("endpoint IP %q: %w", ep.IP, err)
		}
		if !netaddr.ValidUnicast(ip) {
			return fmt.Errorf("endpoint IP %q is not a unicast address", ep.IP)
		}
		ip = ip.Unmap()
		i := netaddr.Index(ip)
		if p.IPs[i].IsValid() {
			return fmt.Errorf("endpoint IP %q: two endpoints of one family", ep.IP)
		}
		p.IPs[i] = ip
		if ep.VTEPMAC == "" {
			continue
		}
		mac, err := net.ParseMAC(ep.VTEPMAC)
		if err != nil || len(mac) != 6 {
			return fmt.Errorf("endpoint %s: VTEP MAC %q is not an Ethernet address", ep.IP, ep.VTEPMAC)
		}
		if mac[0]&1 == 1 || isZero(mac) {
			return fmt.Errorf("endpoint %s: VTEP MAC %q is not unicast", ep.IP, ep.VTEPMAC)
		}
		p.MACs[i] = mac
	}
	if !p.IPs[0].IsValid() && !p.IPs[1].IsValid() {
		return errors.New("annotation has no endpoint")
	}
	return nil
}

// minPodCIDRBits is the shortest peer pod CIDR accepted: a /0../7 would
// route a large part of the address space (default route included) into
// the tunnel. Checked even without --cluster-cidr, which is optional.
const minPodCIDRBits = 8

// reservedNets are ranges a peer's pod CIDR must not overlap: routing them
// to a peer would hijack loopback, link-local (the IPv6 pod gateway
// fe80::1, cloud metadata at 169.254.169.254) or multicast.
var reservedNets = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/3"),
	netip.MustParsePrefix("::/8"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// routablePodCIDR rejects a peer pod CIDR that is too short, an IPv4-mapped
// IPv6 prefix, or one overlapping a reserved range.
func routablePodCIDR(c netip.Prefix) error {
	if c.Addr().Is4In6() {
		return fmt.Errorf("pod CIDR %s is an IPv4-mapped IPv6 prefix", c)
	}
	if c.Bits() < minPodCIDRBits {
		return fmt.Errorf("pod CIDR %s is shorter than /%d", c, minPodCIDRBits)
	}
	for _, r := range reservedNets {
		if r.Overlaps(c) {
			return fmt.Errorf("pod CIDR %s overlaps reserved range %s", c, r)
		}
	}
	return nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// selectPeers validates every remote node and resolves conflicts: a pod CIDR
// that overlaps ours, a cluster CIDR mismatch, one of our node IPs, or
// another peer's pod CIDR is ignored. Between two overlapping peers the
// older Node (creation time, then name) keeps its CIDR, so the outcome is
// the same whether the agent sees the nodes one by one or all at once.
func selectPeers(local datapath.LocalNode, clusterCIDRs []netip.Prefix, nodes []*corev1.Node) (peers []Peer, ignored []Ignored, waiting []string) {
	return selectPeersWith(peerFrom, local, clusterCIDRs, nodes)
}

// selectPeersWith is selectPeers with the per-node parser injected (the
// agent passes a cache keyed by resourceVersion).
func selectPeersWith(parse func(*corev1.Node) (Peer, error), local datapath.LocalNode, clusterCIDRs []netip.Prefix, nodes []*corev1.Node) (peers []Peer, ignored []Ignored, waiting []string) {
	nodes = append([]*corev1.Node(nil), nodes...)
	sort.Slice(nodes, func(i, j int) bool { return olderFirst(nodes[i], nodes[j]) })
	var candidates []Peer
	for _, n := range nodes {
		if n.Name == local.Name {
			continue
		}
		p, err := parse(n)
		switch {
		case errors.Is(err, errNotYet):
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

// cidrIndex answers "does pod CIDR c overlap a taken CIDR" and "does c
// contain a node IP" in O(number of distinct prefix lengths) instead of
// O(peers), so validating 1000 peers is linear, not quadratic.
type cidrIndex struct {
	exact map[netip.Prefix]owned // taken CIDRs
	lens  map[int]bool           // their distinct lengths
	// under[b] maps a taken CIDR (or node IP) truncated to b bits to
	// itself, for every length b some candidate pod CIDR has.
	under     map[int]map[netip.Prefix]owned
	endpoints map[int]map[netip.Prefix]ownedIP
}

type owned struct {
	cidr  netip.Prefix
	owner string
}

type ownedIP struct {
	ip    netip.Addr
	owner string
}

func newCIDRIndex(candidates []Peer) *cidrIndex {
	x := &cidrIndex{exact: map[netip.Prefix]owned{}, lens: map[int]bool{},
		under: map[int]map[netip.Prefix]owned{}, endpoints: map[int]map[netip.Prefix]ownedIP{}}
	for _, p := range candidates {
		for _, c := range p.PodCIDRs {
			if x.under[c.Bits()] == nil {
				x.under[c.Bits()] = map[netip.Prefix]owned{}
				x.endpoints[c.Bits()] = map[netip.Prefix]ownedIP{}
			}
		}
	}
	return x
}

func (x *cidrIndex) take(c netip.Prefix, owner string) {
	o := owned{c, owner}
	x.exact[c] = o
	x.lens[c.Bits()] = true
	for b, m := range x.under {
		if b <= c.Bits() {
			m[truncate(c.Addr(), b)] = o
		}
	}
}

func (x *cidrIndex) addEndpoint(ip netip.Addr, owner string) {
	for b, m := range x.endpoints {
		if b <= ip.BitLen() {
			m[truncate(ip, b)] = ownedIP{ip, owner}
		}
	}
}

// overlap finds a taken CIDR that contains c, equals it, or lies inside it.
func (x *cidrIndex) overlap(c netip.Prefix) (netip.Prefix, string, bool) {
	for b := range x.lens {
		if b <= c.Bits() {
			if o, ok := x.exact[truncate(c.Addr(), b)]; ok {
				return o.cidr, o.owner, true
			}
		}
	}
	if o, ok := x.under[c.Bits()][c]; ok {
		return o.cidr, o.owner, true
	}
	return netip.Prefix{}, "", false
}

func (x *cidrIndex) endpointIn(c netip.Prefix) (netip.Addr, string, bool) {
	o, ok := x.endpoints[c.Bits()][c]
	return o.ip, o.owner, ok
}

// truncate is a's network of length b (an invalid prefix when b is longer
// than a's family allows, which matches nothing).
func truncate(a netip.Addr, b int) netip.Prefix {
	p, err := a.Prefix(b)
	if err != nil {
		return netip.Prefix{}
	}
	return p
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

// peerCache remembers parsed nodes by resourceVersion, so a converge after
// one Node change parses one annotation, not all of them. Used only by the
// worker goroutine.
type peerCache struct {
	entries map[string]cachedPeer
	seen    map[string]bool
}

type cachedPeer struct {
	rv   string
	peer Peer
	err  error
}

func newPeerCache() *peerCache { return &peerCache{entries: map[string]cachedPeer{}} }

// parse returns peerFrom(n), from the cache when n is unchanged.
func (c *peerCache) parse(n *corev1.Node) (Peer, error) {
	c.seen[n.Name] = true
	if e, ok := c.entries[n.Name]; ok && e.rv == n.ResourceVersion && n.ResourceVersion != "" {
		return e.peer, e.err
	}
	p, err := peerFrom(n)
	c.entries[n.Name] = cachedPeer{n.ResourceVersion, p, err}
	return p, err
}

// begin starts a pass; end drops nodes the pass did not see (deleted).
func (c *peerCache) begin() { c.seen = map[string]bool{} }

func (c *peerCache) end() {
	for name := range c.entries {
		if !c.seen[name] {
			delete(c.entries, name)
		}
	}
}
