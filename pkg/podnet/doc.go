// Package podnet wires one pod into the node: a veth pair, the pod's
// addresses and routes, the host side's gateway addresses and host routes,
// and reads all of it back for CNI CHECK.
//
// Datapath: L3-routed, like ptp or Calico, no bridge.
//
//	pod netns                          host netns
//	eth0  10.244.1.5/32                ooXXXXXXXXXXX  10.244.1.1/32 (gateway)
//	      fd00::5/128 (nodad)                         fe80::1/64 (nodad)
//	route 10.244.1.1 dev eth0 scope link            route 10.244.1.5 dev ooXX.. scope link
//	default via 10.244.1.1 dev eth0                 route fd00::5 dev ooXX.. scope link
//	default via fe80::1 dev eth0
//
// Why routed and not bridged: every pod gets a point-to-point link whose far
// end is the host's routing table. Pod-to-pod traffic on one node and traffic
// to other nodes both leave the pod through the same default route, and the
// node agent decides per peer node (native route or one VXLAN level) without
// the plugin knowing. No bridge means no FDB, no STP, no broadcast domain
// spanning all pods, and nothing to tear down but the veth itself: deleting
// the host end deletes the pair and every route through it.
//
// Why the gateway lives on the host veth: the pod's default route needs a
// next hop the pod can resolve with ARP/ND on eth0. For IPv4 that is the
// IPAM gateway (host-local reserves the first address of the range), put as
// a /32 on every host veth: the same address on many interfaces is legal
// and each veth answers ARP for it. For IPv6 it is the fixed link-local
// fe80::1/64 on every host veth, the scheme Calico uses: no per-node
// gateway to plan, and link-local next hops are what routers advertise
// anyway. The pod's addresses are /32 and /128 so the pod sends everything,
// including traffic to its own pod CIDR, through the host.
//
// Why nodad: the pod's /128 and the host's fe80::1 are unique by
// construction (IPAM allocated the first, the second exists once per link).
// Duplicate address detection would make both tentative for about a second,
// which a CNI ADD would otherwise have to wait out (ptp does, with
// SettleAddresses). IFA_F_NODAD makes them usable at once.
//
// Why a deterministic host veth name: "oo" + 11 hex digits of
// sha256(containerID/ifname) (15 bytes, the kernel's IFNAMSIZ-1). DEL and GC
// find the host end by name without entering the pod's netns, even when the
// netns is gone; the "oo" prefix and the link alias
// "offload-overlay:<network>:<containerID>:<ifname>" let GC recognise its
// own veths and leave every other interface alone.
//
// Why the veth is created with its peer directly in the pod netns: one
// RTM_NEWLINK with IFLA_NET_NS_FD on the peer, instead of creating both ends
// in one namespace and moving one. Every operation goes through a netlink
// handle bound to its namespace (netlink.NewHandleAt), so no thread ever
// switches namespace and the pod side can be set up concurrently with the
// IPAM plugin's exec.
//
// Offloads: TSO/GSO stay on (the veth default); MTU and, when the node agent
// found every path native, BIG TCP GSO/GRO sizes (both the IPv6 and IPv4
// attributes) are set on both ends so super-packets cross the veth whole.
package podnet
