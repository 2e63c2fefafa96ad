package linux

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/offload-overlay/offload-overlay/pkg/peers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// WatchRoutes subscribes to route, policy rule and link changes in the
// node's namespace and calls changed for every route change that is not
// one of our own routes (peer routes, probe routes, local-table entries,
// IPv6 link-local and multicast routes that appear with any device), for
// the deletion of one of our peer routes, for every `ip rule` change, and
// for the deletion of one of our devices.
// Equivalent to: ip monitor route rule link
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
	if err := k.watchRules(ctx, changed); err != nil { // the route monitor runs: keep it
		k.cfg.Log.Warn("no rule monitor: policy rule changes are seen at the next resync", "err", err)
	}
	return k.watchLinks(ctx, changed)
}

// watchRules calls changed for every policy rule added or deleted, either
// family. Why: the route to a peer's node IP is the one the kernel picks
// after `ip rule` (a rule can send it through another table, device or
// gateway without any route changing), and the agent decides each pair
// on that route; without this a rule added at run time would be followed
// only at the next periodic resync. The agent adds no rule of its own, so
// every change is someone else's. vishvananda/netlink (v1.3.1) has no
// RuleSubscribe: this is its route subscription's socket on the rule
// multicast groups, and only the message type is read.
// Equivalent to: ip monitor rule
func (k *kernel) watchRules(ctx context.Context, changed func()) error {
	target, back := netns.None(), netns.None()
	if k.cfg.NetNS != nil {
		target = netns.NsHandle(k.cfg.NetNS.Fd())
	}
	s, err := nl.SubscribeAt(target, back, unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return fmt.Errorf("subscribing to policy rule changes: %w", err)
	}
	go func() {
		<-ctx.Done()
		s.Close() // ends Receive below
	}()
	go func() {
		for {
			msgs, from, err := s.Receive()
			if errors.Is(err, unix.ENOBUFS) { // the socket overflowed: changes were lost
				changed()
				continue
			}
			if err != nil {
				if ctx.Err() == nil {
					k.cfg.Log.Warn("rule monitor stopped: policy rule changes are seen at the next resync", "err", err)
				}
				return
			}
			if from.Pid != nl.PidKernel {
				continue
			}
			if ruleChanged(msgs) {
				changed()
			}
		}
	}()
	return nil
}

// ruleChanged reports whether msgs announce a rule added or deleted.
func ruleChanged(msgs []syscall.NetlinkMessage) bool {
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWRULE || m.Header.Type == unix.RTM_DELRULE {
			return true
		}
	}
	return false
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
