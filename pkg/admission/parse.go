package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"

	"github.com/offload-overlay/offload-overlay/pkg/endpoint"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	corev1 "k8s.io/api/core/v1"
)

// Parse validates one remote Node on its own: annotation, version,
// endpoints, pod CIDRs. Conflicts across nodes are checked by Admit.
func Parse(n *corev1.Node) (Peer, error) {
	p := Peer{Name: n.Name, RV: n.ResourceVersion}
	raw, ok := n.Annotations[nodeinfo.AnnotationKey]
	if !ok {
		return p, fmt.Errorf("no %s annotation: %w", nodeinfo.AnnotationKey, ErrNotYet)
	}
	if len(raw) > MaxAnnotationBytes {
		return p, fmt.Errorf("%s annotation is %d bytes, more than the %d an agent writes", nodeinfo.AnnotationKey, len(raw), MaxAnnotationBytes)
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
	if err := p.checkEndpointsListed(n); err != nil {
		return p, err
	}
	cidrs, err := PodCIDRs(n)
	if err != nil {
		return p, err
	}
	if len(cidrs) == 0 {
		return p, fmt.Errorf("no spec.podCIDRs: %w", ErrNotYet)
	}
	for _, c := range cidrs {
		if err := routablePodCIDR(c); err != nil {
			return p, err
		}
	}
	p.PodCIDRs = cidrs
	return p, nil
}

// MaxAnnotationBytes bounds a peer's facts annotation: an agent writes a
// few hundred bytes (plus one probe and underlay entry per peer), and a
// hostile node must not make every other agent parse megabytes per change.
const MaxAnnotationBytes = 64 << 10

// checkEndpointsListed requires every endpoint to be one of the Node's
// status.addresses (written by the kubelet, not by the agent), and every
// VTEP MAC to be the one derived from its endpoint: a node cannot claim
// another machine's address or a victim's MAC.
func (p *Peer) checkEndpointsListed(n *corev1.Node) error {
	var listed []netip.Addr
	for _, a := range n.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			listed = append(listed, ip.Unmap())
		}
	}
	for i, ip := range p.IPs {
		if !ip.IsValid() {
			continue
		}
		if err := endpoint.CheckListed(ip, listed); err != nil {
			return err
		}
		if err := endpoint.CheckMAC(ip, p.MACs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Peer) parseEndpoints() error {
	if len(p.Facts.Endpoints) > 2 {
		return fmt.Errorf("annotation has %d endpoints, at most one per family", len(p.Facts.Endpoints))
	}
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

// PodCIDRs reads spec.podCIDRs (or the legacy spec.podCIDR), one per
// family, IPv4 first.
func PodCIDRs(n *corev1.Node) ([]netip.Prefix, error) {
	raw := n.Spec.PodCIDRs
	if len(raw) == 0 && n.Spec.PodCIDR != "" {
		raw = []string{n.Spec.PodCIDR}
	}
	var seen [2]bool
	var out []netip.Prefix
	for _, s := range raw {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("spec.podCIDRs: %q: %w", s, err)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("spec.podCIDRs: %q has host bits set", s)
		}
		i := netaddr.Index(p.Addr())
		if seen[i] {
			return nil, fmt.Errorf("spec.podCIDRs: %q: two CIDRs of one family", s)
		}
		seen[i] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return netaddr.Index(out[i].Addr()) < netaddr.Index(out[j].Addr()) })
	return out, nil
}
