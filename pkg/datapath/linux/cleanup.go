package linux

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/firewall"
	"github.com/offload-overlay/offload-overlay/pkg/masq"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// Cleanup removes every route, tunnel device, FDB entry, neighbour and
// masquerade rule the agent made, in the calling thread's network namespace.
// Missing pieces are success, so it can run any number of times.
// Equivalent to:
//
//	ip route flush proto 0x4f table all; ip -6 route flush proto 0x4f table all
//	ip link del oo-vxlan4; ip link del oo-vxlan6 (and oo-geneve4/6)
//	iptables -t nat -D POSTROUTING ... -j OO-MASQ; iptables -t nat -X OO-MASQ (and ip6tables)
func Cleanup() error {
	h := &netlink.Handle{}
	return errors.Join(
		peers.Cleanup(h),
		overlay.TeardownAll(h),
		masq.Cleanup(),
		firewall.Cleanup(),
	)
}

// Cleanup removes our routes, neighbours, FDB entries, tunnel devices (with
// their VTEP addresses), probe addresses and masquerade rules.
func (k *kernel) Cleanup(podCIDRs []netip.Prefix) error {
	var errs []error
	if err := k.removeProbeRoutes(); err != nil {
		errs = append(errs, err)
	}
	if err := k.removeProbeAddrs(podCIDRs); err != nil {
		errs = append(errs, err)
	}
	if err := peers.Cleanup(k.h); err != nil {
		errs = append(errs, fmt.Errorf("removing peer routes: %w", err))
	}
	if err := overlay.TeardownAll(k.h); err != nil {
		errs = append(errs, fmt.Errorf("removing tunnel devices: %w", err))
	}
	if k.cfg.Masq != nil {
		if err := k.do(k.cfg.Masq.Cleanup); err != nil {
			errs = append(errs, fmt.Errorf("removing masquerade rules: %w", err))
		}
	}
	if err := k.do(firewall.Cleanup); err != nil {
		errs = append(errs, fmt.Errorf("removing the VXLAN filter: %w", err))
	}
	return errors.Join(errs...)
}

// CleanupNode removes everything an agent made on this node: masquerade
// chains, peer routes, FDB entries and neighbours, tunnel devices, probe
// routes and addresses, the state file (whose pod CIDRs name the probe
// addresses) and the peers file.
// Equivalent to `offload-overlay-agent cleanup`.
func CleanupNode(k datapath.Kernel, stateDir string) error {
	var podCIDRs []netip.Prefix
	s, err := state.Read(stateDir)
	switch {
	case err == nil:
		for _, c := range s.PodCIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				podCIDRs = append(podCIDRs, p)
			}
		}
	case errors.Is(err, state.ErrNotExist):
	default:
		// An unreadable state file is removed anyway; probe addresses stay.
	}
	errs := []error{k.Cleanup(podCIDRs)}
	errs = append(errs, state.Remove(stateDir), peerstate.Remove(stateDir))
	return errors.Join(errs...)
}
