package podnet

import (
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConfigurePod puts the plan's addresses and routes on the pod end.
//
// Equivalent to, in the pod netns:
//
//	ip addr add $ip/32 dev eth0; ip addr add $ip6/128 dev eth0 nodad
//	ip route add $gw dev eth0 scope link
//	ip route add default via $gw dev eth0; ip -6 route add default via fe80::1 dev eth0
func ConfigurePod(pod netlinksafe.Handle, link netlink.Link, p *Plan) error {
	for _, a := range p.PodAddrs {
		if err := addAddr(pod, link, a); err != nil {
			return err
		}
	}
	for _, r := range p.PodRoutes {
		if err := pod.RouteReplace(podRoute(link, r)); err != nil {
			return fmt.Errorf("adding pod route %s via %v dev %s: %w", r.Dst.String(), r.GW, link.Attrs().Name, err)
		}
	}
	return nil
}

// ConfigureHost puts the gateway addresses on the host veth and routes each
// pod address to it.
//
// Equivalent to:
//
//	ip addr add $gw/32 dev $veth; ip addr add fe80::1/64 dev $veth nodad
//	ip route replace $ip/32 dev $veth scope link; ip route replace $ip6/128 dev $veth
func ConfigureHost(host netlinksafe.Handle, link netlink.Link, p *Plan) error {
	for _, a := range p.HostAddrs {
		if err := addAddr(host, link, a); err != nil {
			return err
		}
	}
	for _, dst := range p.HostRoutes {
		if err := host.RouteReplace(hostRoute(link, dst)); err != nil {
			return fmt.Errorf("adding host route %s dev %s: %w", dst, link.Attrs().Name, err)
		}
	}
	return nil
}

// addAddr adds a, without duplicate address detection for IPv6 (see doc.go).
func addAddr(h netlinksafe.Handle, link netlink.Link, a *net.IPNet) error {
	addr := &netlink.Addr{IPNet: a}
	if a.IP.To4() == nil {
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("adding address %s to %s: %w", a, link.Attrs().Name, err)
	}
	return nil
}

func podRoute(link netlink.Link, r *types.Route) *netlink.Route {
	dst := r.Dst
	nr := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: &dst, Gw: r.GW}
	if r.Scope != nil {
		nr.Scope = netlink.Scope(*r.Scope)
	}
	if r.MTU > 0 {
		nr.MTU = r.MTU
	}
	if r.AdvMSS > 0 {
		nr.AdvMSS = r.AdvMSS
	}
	if r.Priority > 0 {
		nr.Priority = r.Priority
	}
	if r.Table != nil {
		nr.Table = *r.Table
	}
	return nr
}

func hostRoute(link netlink.Link, dst *net.IPNet) *netlink.Route {
	return &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}
}
