package datapath

import (
	"context"
	"fmt"

	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// WatchRoutes subscribes to route changes in the node's namespace and calls
// changed for every change that is not one of our own routes (peer routes,
// probe routes, local-table entries, IPv6 link-local and multicast routes
// that appear with any device).
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
			if !ownRoute(u.Route) {
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
