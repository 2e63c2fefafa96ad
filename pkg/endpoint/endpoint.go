// Package endpoint decides whether an address a peer node publishes may be
// used as that peer's tunnel endpoint or native next hop.
//
// Why: a node's published facts are written by that node alone, and the
// agent turns them into routes, FDB entries and neighbours on every other
// node. A compromised or mis-configured node that claims a local address
// of its victims, a subnet's broadcast address, or an address the kernel
// routes as local, broadcast or unreachable makes the kernel reject the
// path (one bad peer used to stop the whole converge) or, worse, accept
// it and send other nodes' pod traffic somewhere it should not go. Each
// such endpoint is refused with a reason before any path is computed,
// and the endpoint must also be one of the addresses the Kubernetes
// control plane lists for that Node (status.addresses, which the kubelet
// writes and the agent's policy forbids the agent to change).
//
// The checks here are pure functions of what they are given; package
// endpointnl reads their kernel inputs (Local, RouteKind) over netlink, so
// that peer admission in the controller links no netlink.
package endpoint

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
)

// Local is what this node's kernel says about its own addresses.
type Local struct {
	// Addrs are the addresses on every device of this node.
	Addrs []netip.Addr
	// Subnets are the connected subnets (each address's prefix).
	Subnets []netip.Prefix
}

// RouteKind is how the kernel routes to an address.
type RouteKind string

// Route kinds; only Unicast is acceptable for a peer endpoint.
const (
	Unicast     RouteKind = "unicast"
	LocalRoute  RouteKind = "local"
	Broadcast   RouteKind = "broadcast"
	Multicast   RouteKind = "multicast"
	Anycast     RouteKind = "anycast"
	Unreachable RouteKind = "unreachable"
	Blackhole   RouteKind = "blackhole"
	Prohibit    RouteKind = "prohibit"
	Other       RouteKind = "other"
)

// Check returns nil when ep may be the endpoint of a peer whose Node lists
// the addresses listed, on a node whose kernel has local and routes to ep
// as kind; else an error saying why (the reason the agent reports). It is
// CheckListed, then CheckLocal.
func Check(ep netip.Addr, listed []netip.Addr, local Local, kind RouteKind) error {
	if err := CheckListed(ep, listed); err != nil {
		return err
	}
	return CheckLocal(ep, local, kind)
}

// CheckListed is the part of Check that needs only the peer's Node: ep is
// a global unicast address and one of the Node's status.addresses.
func CheckListed(ep netip.Addr, listed []netip.Addr) error {
	ep = ep.Unmap()
	if err := checkClass(ep); err != nil {
		return err
	}
	if !slices.ContainsFunc(listed, func(a netip.Addr) bool { return a.Unmap() == ep }) {
		return fmt.Errorf("endpoint %s is not one of the Node's status.addresses %v", ep, listed)
	}
	return nil
}

// CheckLocal is the part of Check that needs this node's kernel: ep is not
// one of this node's addresses, not the network or broadcast address of a
// connected subnet, and routed as unicast.
func CheckLocal(ep netip.Addr, local Local, kind RouteKind) error {
	ep = ep.Unmap()
	if err := checkClass(ep); err != nil {
		return err
	}
	if slices.ContainsFunc(local.Addrs, func(a netip.Addr) bool { return a.Unmap() == ep }) {
		return fmt.Errorf("endpoint %s is an address of this node", ep)
	}
	for _, s := range local.Subnets {
		if err := checkSubnetEdge(ep, s); err != nil {
			return err
		}
	}
	if kind != Unicast {
		return fmt.Errorf("endpoint %s is routed as %s by this node's kernel, want unicast", ep, kind)
	}
	return nil
}

// checkClass refuses addresses that are never a node's endpoint (the
// one rule of pkg/netaddr).
func checkClass(ep netip.Addr) error {
	if !ep.IsValid() {
		return fmt.Errorf("no endpoint address")
	}
	if !netaddr.ValidUnicast(ep) {
		return fmt.Errorf("endpoint %s is not a global unicast address", ep)
	}
	return nil
}

// checkSubnetEdge refuses the network and broadcast addresses of a
// connected subnet (IPv4 up to /30; IPv6 up to /126: its subnet-router
// anycast address). /31, /32, /127 and /128 have no such edges.
func checkSubnetEdge(ep netip.Addr, s netip.Prefix) error {
	s = s.Masked()
	if !s.IsValid() || s.Addr().Is4() != ep.Is4() || !s.Contains(ep) || s.Bits() >= s.Addr().BitLen()-1 {
		return nil
	}
	if ep == s.Addr() {
		return fmt.Errorf("endpoint %s is the network address of this node's subnet %s", ep, s)
	}
	if ep.Is4() && ep == netaddr.Last(s) {
		return fmt.Errorf("endpoint %s is the broadcast address of this node's subnet %s", ep, s)
	}
	return nil
}
