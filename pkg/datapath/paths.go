package datapath

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// ApplyPaths programs changed paths one by one (O(1) netlink calls each).
func (k *kernel) ApplyPaths(upsert, remove []Path) error {
	if k.wantVXLAN(upsert) {
		if err := k.ensureLinks("first VXLAN path: tunnel device created"); err != nil {
			return fmt.Errorf("creating the tunnel device: %w", err)
		}
	}
	var errs []error
	for _, p := range remove {
		if _, err := k.conv.RemovePeer(p.Key()); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", p.Key(), err))
		}
	}
	for _, p := range upsert {
		rep, err := k.conv.ApplyPeer(toPeer(p))
		if err != nil {
			errs = append(errs, fmt.Errorf("programming %s: %w", p.Key(), err))
		}
		k.logSkipped(rep)
	}
	return errors.Join(errs...)
}

// ResyncPaths repairs the node's devices and addresses (repairNode), hands
// the converger the complete set, then re-reads the kernel and repairs
// drift: in that order, so routes and neighbours the kernel flushed with a
// deleted VTEP address come back after the address.
func (k *kernel) ResyncPaths(all []Path) error {
	k.wantVXLAN(all)
	if err := k.repairNode(); err != nil {
		return fmt.Errorf("repairing tunnel devices and addresses: %w", err)
	}
	ps := make([]peers.Peer, 0, len(all))
	for _, p := range all {
		ps = append(ps, toPeer(p))
	}
	rep, err := k.conv.Apply(ps)
	k.logSkipped(rep)
	if err != nil {
		return fmt.Errorf("converging %d peer paths: %w", len(all), err)
	}
	if _, err := k.conv.Resync(); err != nil {
		return fmt.Errorf("resyncing peer paths: %w", err)
	}
	return nil
}

func (k *kernel) logSkipped(rep peers.Report) {
	for name, why := range rep.Skipped {
		k.cfg.Log.Warn("peer path not programmed", "path", name, "reason", why)
	}
}

// toPeer maps one path (peer and family) to a converger peer named by the
// path key, so the two families of a dual-stack peer may take different
// modes and are added and removed independently.
func toPeer(p Path) peers.Peer {
	ep := peers.Endpoint{NodeIP: p.PeerIP, VTEPMAC: p.PeerMAC, NextHop: p.Via}
	return peers.Peer{Name: p.Key(), Mode: p.Mode, PodCIDRs: []netip.Prefix{p.PodCIDR}, Endpoints: []peers.Endpoint{ep}}
}
