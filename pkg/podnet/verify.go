package podnet

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// Verify compares both veth ends with the plan and returns an error saying
// every difference (nil when the kernel matches): the pod interface exists,
// is a veth with the plan's MTU, addresses and routes; the host veth exists
// with the plan's MTU, gateway addresses and a route to each pod address.
//
// Equivalent to reading: ip -n $podns addr/route show dev eth0;
// ip addr show dev $veth; ip route show dev $veth
func Verify(host, pod netlinksafe.Handle, p *Plan) error {
	podLink, err := pod.LinkByName(p.IfName)
	if err != nil {
		return fmt.Errorf("pod interface %s: %w", p.IfName, err)
	}
	hostLink, err := host.LinkByName(p.HostVeth)
	if err != nil {
		return fmt.Errorf("host veth %s: %w", p.HostVeth, err)
	}
	var errs []error
	errs = append(errs, checkLink("pod interface", podLink, p.MTU))
	errs = append(errs, checkLink("host veth", hostLink, p.MTU))
	errs = append(errs, checkAddrs(pod, podLink, "pod interface", p.PodAddrs))
	errs = append(errs, checkAddrs(host, hostLink, "host veth", p.HostAddrs))
	errs = append(errs, checkPodRoutes(pod, podLink, p))
	errs = append(errs, checkHostRoutes(host, hostLink, p))
	return errors.Join(errs...)
}

func checkLink(what string, l netlink.Link, mtu int) error {
	a := l.Attrs()
	if l.Type() != "veth" {
		return fmt.Errorf("%s %s: type %s, want veth", what, a.Name, l.Type())
	}
	if a.MTU != mtu {
		return fmt.Errorf("%s %s: mtu %d, want %d", what, a.Name, a.MTU, mtu)
	}
	return nil
}

func checkAddrs(h netlinksafe.Handle, l netlink.Link, what string, want []*net.IPNet) error {
	have, err := addrList(h, l)
	if err != nil {
		return fmt.Errorf("%s %s: listing addresses: %w", what, l.Attrs().Name, err)
	}
	var errs []error
	for _, w := range want {
		if !containsAddr(have, w) {
			errs = append(errs, fmt.Errorf("%s %s: address %s missing", what, l.Attrs().Name, w))
		}
	}
	return errors.Join(errs...)
}

func checkPodRoutes(pod netlinksafe.Handle, l netlink.Link, p *Plan) error {
	have, err := pod.RouteList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("pod interface %s: listing routes: %w", p.IfName, err)
	}
	var errs []error
	for _, w := range p.PodRoutes {
		if !containsRoute(have, &w.Dst, w.GW) {
			errs = append(errs, fmt.Errorf("pod interface %s: route %s via %v missing", p.IfName, w.Dst.String(), w.GW))
		}
	}
	return errors.Join(errs...)
}

func checkHostRoutes(host netlinksafe.Handle, l netlink.Link, p *Plan) error {
	have, err := host.RouteList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("host veth %s: listing routes: %w", p.HostVeth, err)
	}
	var errs []error
	for _, w := range p.HostRoutes {
		if !containsRoute(have, w, nil) {
			errs = append(errs, fmt.Errorf("host route %s dev %s missing", w, p.HostVeth))
		}
	}
	return errors.Join(errs...)
}

func addrList(h netlinksafe.Handle, l netlink.Link) ([]netlink.Addr, error) {
	var addrs []netlink.Addr
	var err error
	for range 5 {
		addrs, err = h.AddrList(l, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return addrs, err
}

func containsAddr(have []netlink.Addr, w *net.IPNet) bool {
	for _, a := range have {
		if a.IPNet != nil && a.IP.Equal(w.IP) && a.Mask.String() == w.Mask.String() {
			return true
		}
	}
	return false
}

// containsRoute matches on destination and, when gw is set, next hop. A
// default route may come back with a nil Dst.
func containsRoute(have []netlink.Route, dst *net.IPNet, gw net.IP) bool {
	for _, r := range have {
		if !sameDst(r.Dst, dst) {
			continue
		}
		if gw == nil || r.Gw.Equal(gw) {
			return true
		}
	}
	return false
}

func sameDst(have, want *net.IPNet) bool {
	if have == nil {
		return isDefault(want)
	}
	hOnes, hBits := have.Mask.Size()
	wOnes, wBits := want.Mask.Size()
	return hOnes == wOnes && hBits == wBits && have.IP.Equal(want.IP)
}
