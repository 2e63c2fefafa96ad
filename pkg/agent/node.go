package agent

import (
	"fmt"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	corev1 "k8s.io/api/core/v1"
)

// ErrNoPodCIDR means the node has no spec.podCIDRs yet (the controller
// manager allocates them shortly after the Node registers).
var ErrNoPodCIDR = fmt.Errorf("node has no spec.podCIDRs allocated yet")

// ErrNoNodeIP means the node publishes no InternalIP and no --node-ip was given.
var ErrNoNodeIP = fmt.Errorf("node has no InternalIP address (set --node-ip)")

// localNodeFrom reads node IPs (InternalIP per family, overrides win per
// family) and pod CIDRs from n.
func localNodeFrom(n *corev1.Node, overrides []netip.Addr) (datapath.LocalNode, error) {
	l := datapath.LocalNode{Name: n.Name}
	cidrs, err := admission.PodCIDRs(n)
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
		if err != nil || !netaddr.ValidUnicast(ip) {
			continue
		}
		ip = ip.Unmap()
		if i := netaddr.Index(ip); !byFam[i].IsValid() {
			byFam[i] = ip
		}
	}
	for _, o := range overrides {
		byFam[netaddr.Index(o)] = o.Unmap()
	}
	var out []netip.Addr
	for _, a := range byFam {
		if a.IsValid() {
			out = append(out, a)
		}
	}
	return out
}
