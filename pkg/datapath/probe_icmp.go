package datapath

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// probeRouteProtocol marks the temporary /32 (/128) probe routes
// (`proto 0x50`), distinct from the peer routes (peers.RouteProtocol) so the
// peer converger's resync never mistakes one for its own, and cleanup
// finds leftovers of an interrupted probe.
const probeRouteProtocol = 0x50

// ProbeNative: see probe_icmp.go.
func (k *kernel) ProbeNative(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error {
	return k.probeICMP(ctx, src, dst, gw, devIndex)
}

// probeICMP checks that dst (the peer's probe address inside its pod CIDR)
// answers natively through the underlay next hop gw: a host route to dst
// via gw, sourced from our own probe address, then ICMP echo requests from
// src to dst. The route is removed afterwards. See doc.go.
// Equivalent to:
//
//	ip route replace $dst/32 via $gw dev $uplink src $src proto 0x50
//	ping -c 3 -W 1 -I $src $dst
//	ip route del $dst/32 proto 0x50
func (k *kernel) probeICMP(ctx context.Context, src, dst, gw netip.Addr, devIndex int) error {
	h, err := handleIn(k.cfg.NetNS) // one per probe: probes run concurrently
	if err != nil {
		return err
	}
	defer h.Close()
	rt := probeRoute(src, dst, gw, devIndex)
	if err := h.RouteReplace(rt); err != nil {
		return fmt.Errorf("adding probe route %s via %s: %w", dst, gw, err)
	}
	defer func() { _ = h.RouteDel(rt) }()
	return k.do(func() error { return echo(ctx, src, dst) })
}

func probeRoute(src, dst, gw netip.Addr, devIndex int) *netlink.Route {
	bits := dst.BitLen()
	return &netlink.Route{
		LinkIndex: devIndex,
		Dst:       &net.IPNet{IP: dst.AsSlice(), Mask: net.CIDRMask(bits, bits)},
		Gw:        gw.AsSlice(),
		Src:       src.AsSlice(),
		Protocol:  probeRouteProtocol,
	}
}

// echo sends up to three echo requests from src to dst and waits for a
// matching reply (raw ICMP socket: the agent runs with CAP_NET_RAW).
func echo(ctx context.Context, src, dst netip.Addr) error {
	network, proto := "ip4:icmp", 1
	var reqType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, proto = "ip6:ipv6-icmp", 58
		reqType, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := icmp.ListenPacket(network, src.String())
	if err != nil {
		return fmt.Errorf("opening ICMP socket on %s: %w", src, err)
	}
	defer c.Close()
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	for seq := 1; seq <= 3; seq++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("probing %s: %w", dst, err)
		}
		msg := icmp.Message{Type: reqType, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("offload-overlay probe")}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return fmt.Errorf("encoding echo: %w", err)
		}
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("sending echo to %s: %w", dst, err)
		}
		if waitReply(ctx, c, proto, replyType, dst, id) {
			return nil
		}
	}
	return fmt.Errorf("no echo reply from %s: %w", dst, errNoReply)
}

var errNoReply = errors.New("native path does not answer")

// waitReply reads until a reply from dst with our id arrives or a second
// (or ctx) runs out.
func waitReply(ctx context.Context, c *icmp.PacketConn, proto int, want icmp.Type, dst netip.Addr, id int) bool {
	deadline := time.Now().Add(time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		ipa, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		if a, ok := netip.AddrFromSlice(ipa.IP); !ok || a.Unmap() != dst {
			continue
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != want {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
			return true
		}
	}
}

// removeProbeRoutes deletes probe routes an interrupted agent left behind.
// Equivalent to: ip route flush proto 0x50 (both families)
func (k *kernel) removeProbeRoutes() error {
	var errs []error
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := k.h.RouteListFiltered(fam, &netlink.Route{Protocol: probeRouteProtocol}, netlink.RT_FILTER_PROTOCOL)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing probe routes: %w", err))
			continue
		}
		for i := range rs {
			if err := k.h.RouteDel(&rs[i]); err != nil {
				errs = append(errs, fmt.Errorf("deleting probe route %s: %w", rs[i].Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeProbeAddrs removes the probe addresses from lo.
// Equivalent to: ip addr del 10.244.1.1/32 dev lo
func (k *kernel) removeProbeAddrs(podCIDRs []netip.Prefix) error {
	lo, err := k.h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("looking up lo: %w", err)
	}
	var errs []error
	for _, c := range podCIDRs {
		a := netaddr.Gateway(c)
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
		if err := k.h.AddrDel(lo, addr); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("removing probe address %s from lo: %w", a, err))
		}
	}
	return errors.Join(errs...)
}
