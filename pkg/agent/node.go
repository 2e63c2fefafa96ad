package agent

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// LocalNode is what the agent reads from its own Node object.
type LocalNode struct {
	Name string
	// IPs are the tunnel endpoints, at most one per family (IPv4 first).
	IPs []netip.Addr
	// PodCIDRs is spec.podCIDRs, at most one per family (IPv4 first).
	PodCIDRs []netip.Prefix
}

// IP returns the node IP of family (4 or 6).
func (l LocalNode) IP(family int) (netip.Addr, bool) { return pickAddr(l.IPs, family) }

// PodCIDR returns the pod CIDR of family (4 or 6).
func (l LocalNode) PodCIDR(family int) (netip.Prefix, bool) { return pickPrefix(l.PodCIDRs, family) }

// ErrNoPodCIDR means the node has no spec.podCIDRs yet (the controller
// manager allocates them shortly after the Node registers).
var ErrNoPodCIDR = fmt.Errorf("node has no spec.podCIDRs allocated yet")

// ErrNoNodeIP means the node publishes no InternalIP and no --node-ip was given.
var ErrNoNodeIP = fmt.Errorf("node has no InternalIP address (set --node-ip)")

// localNodeFrom reads node IPs (InternalIP per family, overrides win per
// family) and pod CIDRs from n.
func localNodeFrom(n *corev1.Node, overrides []netip.Addr) (LocalNode, error) {
	l := LocalNode{Name: n.Name}
	cidrs, err := parsePodCIDRs(n)
	if err != nil {
		return l, err
	}
	if len(cidrs) == 0 {
		return l, ErrNoPodCIDR
	}
	l.PodCIDRs = cidrs
	l.IPs = nodeIPs(n, overrides)
	if len(l.IPs) == 0 {
		return l, ErrNoNodeIP
	}
	return l, nil
}

// nodeIPs returns one InternalIP per family (the first listed), replaced by
// an override of the same family.
func nodeIPs(n *corev1.Node, overrides []netip.Addr) []netip.Addr {
	var byFam [2]netip.Addr
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil || !validUnicast(ip) {
			continue
		}
		ip = ip.Unmap()
		if i := famIndex(ip); !byFam[i].IsValid() {
			byFam[i] = ip
		}
	}
	for _, o := range overrides {
		byFam[famIndex(o)] = o.Unmap()
	}
	var out []netip.Addr
	for _, a := range byFam {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}

// parsePodCIDRs reads spec.podCIDRs (or the legacy spec.podCIDR), one per
// family, IPv4 first.
func parsePodCIDRs(n *corev1.Node) ([]netip.Prefix, error) {
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
		i := famIndex(p.Addr())
		if seen[i] {
			return nil, fmt.Errorf("spec.podCIDRs: %q: two CIDRs of one family", s)
		}
		seen[i] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return famIndex(out[i].Addr()) < famIndex(out[j].Addr()) })
	return out, nil
}

// validUnicast rejects what must never be a tunnel endpoint or route
// target: unspecified, loopback, multicast, link-local, broadcast.
func validUnicast(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() {
		return false // also rejects loopback, multicast, link-local, unspecified
	}
	return a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func famIndex(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 0
	}
	return 1
}

// familyOf returns 4 or 6.
func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}

func pickAddr(as []netip.Addr, family int) (netip.Addr, bool) {
	for _, a := range as {
		if familyOf(a) == family {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func pickPrefix(ps []netip.Prefix, family int) (netip.Prefix, bool) {
	for _, p := range ps {
		if familyOf(p.Addr()) == family {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// gatewayAddr is the first address of a pod CIDR (10.244.1.1 for
// 10.244.1.0/24, fd00:1::1 for fd00:1::/64): host-local's default gateway,
// never handed to a pod, which the agent also puts on lo as the node's
// native-probe address.
func gatewayAddr(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }
