package linux

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// ApplyPaths programs changed paths one by one (O(1) netlink calls each).
// A path the kernel refuses fails alone (a *datapath.PathError named by
// its key, see datapath.FailedPaths); the others are programmed.
func (k *kernel) ApplyPaths(upsert, remove []datapath.Path) error {
	if k.wantVXLAN(upsert) {
		if err := k.ensureLinks("first VXLAN path: tunnel device created"); err != nil {
			return asPathErrors(fmt.Errorf("creating the tunnel device: %w", err))
		}
	}
	var errs []error
	for _, p := range remove {
		if _, err := k.conv.RemovePeer(p.Key()); err != nil {
			failed, rest := peers.SplitErrors(err)
			errs = append(errs, pathErrors(failed))
			if rest != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", p.Key(), rest))
			}
		}
	}
	for _, p := range upsert {
		rep, err := k.conv.ApplyPeer(toPeer(p))
		if err != nil {
			failed, rest := peers.SplitErrors(err)
			errs = append(errs, pathErrors(failed))
			if rest != nil {
				errs = append(errs, fmt.Errorf("programming %s: %w", p.Key(), rest))
			}
		}
		k.logSkipped(rep)
	}
	return errors.Join(errs...)
}

// ResyncPaths repairs the node's devices and addresses (repairNode), hands
// the converger the complete set, then re-reads the kernel and repairs
// drift: in that order, so routes and neighbours the kernel flushed with a
// deleted VTEP address come back after the address. Paths the kernel
// refuses fail alone, as in ApplyPaths.
func (k *kernel) ResyncPaths(all []datapath.Path) error {
	k.wantVXLAN(all)
	if err := k.repairNode(); err != nil {
		return asPathErrors(fmt.Errorf("repairing tunnel devices and addresses: %w", err))
	}
	ps := make([]peers.Peer, 0, len(all))
	for _, p := range all {
		ps = append(ps, toPeer(p))
	}
	rep, err := k.conv.Apply(ps)
	k.logSkipped(rep)
	failed, rest := peers.SplitErrors(err)
	if rest != nil {
		return errors.Join(pathErrors(failed), fmt.Errorf("converging %d peer paths: %w", len(all), rest))
	}
	_, err = k.conv.Resync()
	again, rest := peers.SplitErrors(err)
	if failed == nil {
		failed = again
	} else {
		maps.Copy(failed, again)
	}
	if rest != nil {
		return errors.Join(pathErrors(failed), fmt.Errorf("resyncing peer paths: %w", rest))
	}
	return pathErrors(failed)
}

// asPathErrors names the converger's per-peer refusals inside err (a
// device recreation re-points, and so resyncs, every peer) as
// datapath.PathErrors, which is how datapath.FailedPaths finds them.
func asPathErrors(err error) error {
	failed, rest := peers.SplitErrors(err)
	return errors.Join(pathErrors(failed), rest)
}

// pathErrors joins per-path errors in key order (nil for none).
func pathErrors(failed map[string]error) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(failed)) {
		errs = append(errs, &datapath.PathError{Key: key, Err: failed[key]})
	}
	return errors.Join(errs...)
}

func (k *kernel) logSkipped(rep peers.Report) {
	for name, why := range rep.Skipped {
		k.cfg.Log.Warn("peer path not programmed", "path", name, "reason", why)
	}
}

// toPeer maps one path (peer and family) to a converger peer named by the
// path key, so the two families of a dual-stack peer may take different
// modes and are added and removed independently.
func toPeer(p datapath.Path) peers.Peer {
	ep := peers.Endpoint{NodeIP: p.PeerIP, VTEPMAC: p.PeerMAC, NextHop: p.Via, Dev: p.DevIndex}
	return peers.Peer{Name: p.Key(), Mode: p.Mode, PodCIDRs: []netip.Prefix{p.PodCIDR}, Endpoints: []peers.Endpoint{ep}}
}
