package linux

import (
	"context"
	"fmt"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// WatchRoutes subscribes to route and link changes in the node's namespace
// and calls changed for every route change that is not one of our own
// routes (peer routes, probe routes, local-table entries, IPv6 link-local
// and multicast routes that appear with any device), for the deletion of
// one of our peer routes, and for the deletion of one of our devices.
// Equivalent to: ip monitor route
func (k *kernel) WatchRoutes(ctx context.Context, changed func()) error {
	ch := make(chan netlink.RouteUpdate, 256)
	done := make(chan struct{})
	opts := netlink.RouteSubscribeOptions{ErrorCallback: func(err error) {
		k.cfg.Log.Warn("route monitor", "err", err)
	}}
	if k.cfg.NetNS != nil {
		h := netns.NsHandle(k.cfg.NetNS.Fd())
		opts.Namespace = &h
	}
	if err := netlink.RouteSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("subscribing to route changes: %w", err)
	}
	go func() {
		<-ctx.Done()
		close(done)
	}()
	go func() {
		for u := range ch {
			// An underlay change, or one of our routes deleted by someone
			// else (our own deletions cost one extra resync, coalesced).
			if !ownRoute(u.Route) || (u.Type == unix.RTM_DELROUTE && u.Route.Protocol == peers.RouteProtocol) {
				changed()
			}
		}
	}()
	return k.watchLinks(ctx, changed)
}

// watchLinks calls changed when a device of ours (oo-*) is deleted, so
// the resync recreates it and its paths in seconds instead of at the next
// periodic resync.
// Equivalent to: ip monitor link
func (k *kernel) watchLinks(ctx context.Context, changed func()) error {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	opts := netlink.LinkSubscribeOptions{ErrorCallback: func(err error) {
		k.cfg.Log.Warn("link monitor", "err", err)
	}}
	if k.cfg.NetNS != nil {
		h := netns.NsHandle(k.cfg.NetNS.Fd())
		opts.Namespace = &h
	}
	if err := netlink.LinkSubscribeWithOptions(ch, done, opts); err != nil {
		return fmt.Errorf("subscribing to link changes: %w", err)
	}
	go func() {
		<-ctx.Done()
		close(done)
	}()
	go func() {
		for u := range ch {
			if u.Header.Type == unix.RTM_DELLINK && u.Link != nil && strings.HasPrefix(u.Link.Attrs().Name, "oo-") {
				k.cfg.Log.Warn("tunnel device deleted by someone else; repairing", "device", u.Link.Attrs().Name)
				changed()
			}
		}
	}()
	return nil
}

func ownRoute(r netlink.Route) bool {
	if r.Protocol == peers.RouteProtocol || r.Protocol == probeRouteProtocol || r.Table == unix.RT_TABLE_LOCAL {
		return true
	}
	if r.Dst == nil {
		return false
	}
	return r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast()
}
