// Package peers converges the kernel's per-peer datapath (routes, VXLAN FDB
// entries, permanent neighbours) to a desired set of peers, incrementally.
//
// The shape of the datapath, per peer and per address family:
//
//	vxlan:   bridge fdb replace <peer VTEP MAC> dev oo-vxlan4 dst <peer node IP> self permanent
//	         ip neigh replace <VTEP addr> lladdr <peer VTEP MAC> dev oo-vxlan4 nud permanent
//	         ip route replace <peer pod CIDR> via <VTEP addr> dev oo-vxlan4 onlink proto 0x4f
//	native:  ip route replace <peer pod CIDR> via <peer node IP> dev <egress> onlink proto 0x4f
//	         (off-link: via <underlay next hop> dev <egress>)
//	         where <egress> is the device the kernel's route to the peer's
//	         node IP leaves by (Endpoint.Dev; the uplink when unknown)
//	unreachable: nothing (no route: the traffic is refused locally, not black-holed remotely)
//
// The VTEP address is the peer pod CIDR's first address (10.244.2.0 for
// 10.244.2.0/24, VTEPAddr), flannel-style: it is never assigned to a pod,
// it is unique per peer because pod CIDRs are, and the peer holds it on its
// own VXLAN device (package overlay), so what that node sends over the
// tunnel comes from an address we route back through the tunnel (strict
// rp_filter accepts it).
// The permanent neighbour and the FDB entry replace ARP and learning on the
// tunnel: the control plane already knows every MAC and node IP.
//
// Why incremental and why tagged:
//
//   - The converger remembers what it programmed (in memory), so Apply
//     writes only the difference; an unchanged peer costs zero netlink
//     calls, a changed peer a constant number (at most three writes for a
//     VXLAN peer per family). ApplyPeer and RemovePeer touch only that peer.
//   - Every route we install carries RouteProtocol (proto 0x4f, 79, unused
//     in /etc/iproute2/rt_protos), so dumps, Resync and Cleanup find ours and
//     never touch routes of other software. FDB entries and neighbours live
//     only on our own tunnel devices (oo-*), which tags them by device.
//   - A new Converger adopts what is in the kernel instead of flushing it:
//     its first Apply reads our routes, FDB entries and neighbours, then
//     writes only the difference. An agent restart (upgrade) therefore
//     leaves established pod-to-pod connections untouched.
//   - Resync re-reads the kernel and repairs drift (a route deleted by hand,
//     a neighbour changed) without flushing anything.
//   - Writes are ordered so traffic never meets a half-built path: FDB, then
//     neighbour, then route on add; route, then neighbour, then FDB on
//     removal.
//   - IPv4 and IPv6 go through one code path: the family of the pod CIDR
//     selects the endpoint, the tunnel device and the uplink.
//
// Geneve peers are not programmed yet: a Geneve device has no FDB, so it
// needs collect_md routes with per-route encapsulation, and the lab kernel
// has no Geneve to test it against. Such peers are reported as skipped.
package peers
