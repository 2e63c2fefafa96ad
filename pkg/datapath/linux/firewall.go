package linux

import (
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/firewall"
)

// EnsureFirewall makes the node's VXLAN filter (pkg/firewall) admit only
// peerIPs to the VXLAN port and drop this node's pods' datagrams to any
// node's VXLAN port (podCIDRs are the destinations a pod may still use
// that port with). One atomic nftables batch; idempotent.
func (k *kernel) EnsureFirewall(peerIPs []netip.Addr, localPodCIDRs, podCIDRs []netip.Prefix) error {
	if !k.cfg.Firewall {
		return nil
	}
	cfg := firewall.Config{Port: uint16(k.cfg.Port), Peers: peerIPs, LocalPodCIDRs: localPodCIDRs, PodCIDRs: podCIDRs}
	return k.do(func() error { return firewall.Ensure(cfg) })
}
