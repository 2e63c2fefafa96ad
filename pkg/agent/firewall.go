package agent

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
)

// ensureFirewall keeps the VXLAN filter (pkg/firewall) in step with the
// admitted peers: only their endpoints may send to the VXLAN port. The
// destinations a local pod may still send to on that port are the cluster
// CIDRs, or, for a family without one, every known node's pod CIDR. It
// rewrites the filter when its input changed and on every full sync (a
// repair after someone flushed nftables).
func (a *Agent) ensureFirewall(peers []admission.Peer, full bool) error {
	var ips []netip.Addr
	pods := slices.Clone(a.cfg.ClusterCIDRs)
	have := map[bool]bool{}
	for _, c := range a.cfg.ClusterCIDRs {
		have[c.Addr().Is6()] = true
	}
	addPods := func(cs []netip.Prefix) {
		for _, c := range cs {
			if !have[c.Addr().Is6()] {
				pods = append(pods, c)
			}
		}
	}
	addPods(a.local.PodCIDRs)
	for _, p := range peers {
		for _, ip := range p.IPs {
			if ip.IsValid() {
				ips = append(ips, ip)
			}
		}
		addPods(p.PodCIDRs)
	}
	key := fmt.Sprint(ips, a.local.PodCIDRs, pods)
	if !full && key == a.last.firewall {
		return nil
	}
	if err := a.kernel.EnsureFirewall(ips, a.local.PodCIDRs, pods); err != nil {
		a.metrics.Errors.WithLabelValues("firewall").Inc()
		a.last.firewall = ""
		return fmt.Errorf("updating the VXLAN filter: %w", err)
	}
	a.last.firewall = key
	return nil
}
