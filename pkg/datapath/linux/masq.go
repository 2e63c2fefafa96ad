package linux

import (
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/masq"
)

// Masquerader installs and removes the node's masquerade rules (pkg/masq).
type Masquerader interface {
	Ensure(podCIDRs, clusterCIDRs []netip.Prefix) error
	Cleanup() error
}

// EnsureMasquerade delegates to the masquerader, and warns when a family
// with a pod CIDR has no cluster CIDR (its pod egress is not masqueraded).
func (k *kernel) EnsureMasquerade(podCIDRs, clusterCIDRs []netip.Prefix) error {
	if k.cfg.Masq == nil {
		k.warnUnmasqueraded(podCIDRs, clusterCIDRs)
		return nil
	}
	var err error
	if e := k.do(func() error { err = k.cfg.Masq.Ensure(podCIDRs, clusterCIDRs); return nil }); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	k.warnUnmasqueraded(podCIDRs, clusterCIDRs)
	return nil
}

func (k *kernel) warnUnmasqueraded(podCIDRs, clusterCIDRs []netip.Prefix) {
	if fams := masq.MissingClusterCIDR(masq.Config{PodCIDRs: podCIDRs, ClusterCIDRs: clusterCIDRs}); len(fams) > 0 {
		k.cfg.Log.Warn("no --cluster-cidr for a family with a pod CIDR: pod egress of that family is not masqueraded (pod-to-pod never is)", "families", fams)
	}
}

// IPTablesMasq is the Masquerader of pkg/masq (iptables and ip6tables).
type IPTablesMasq struct{}

// Ensure installs the OO-MASQ chains.
func (IPTablesMasq) Ensure(podCIDRs, clusterCIDRs []netip.Prefix) error {
	return masq.Ensure(masq.Config{PodCIDRs: podCIDRs, ClusterCIDRs: clusterCIDRs})
}

// Cleanup removes the OO-MASQ chains.
func (IPTablesMasq) Cleanup() error { return masq.Cleanup() }
