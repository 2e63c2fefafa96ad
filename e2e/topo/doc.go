// Package topo builds and tears down the lab's node underlays: network
// namespaces standing for Kubernetes nodes, wired the way kind wires its
// nodes, plus the pieces a real network has around them.
//
// Why namespaces and not VMs: the question the lab answers is where the
// kernel cuts TCP super-packets (TSO/GSO) on the way from one pod to another,
// and that depends only on the device stack each packet crosses (veth,
// bridge, vxlan, the offload features of the uplink). Namespaces reproduce
// that stack exactly, on the real kernel, in milliseconds.
//
// The shape (every namespace and every host-visible link is prefixed, "ool-"
// by default, so Down finds all of it by name after any failure):
//
//	ool-sw      the switch: one Linux bridge per L2 segment (br-a, br-b, br-c,
//	            br-t). It lives in its own namespace, never in the host's.
//	ool-rt      the router: one leg per segment (.1 in each subnet), IP
//	            forwarding on; it joins the tunnel underlay as one of its
//	            members, optionally routes pod CIDRs (a cloud route table),
//	            and leads to the "internet" and to the host.
//	ool-inet    the internet: one address outside every cluster CIDR, for
//	            masquerade checks (it has no route to pod CIDRs).
//	ool-<node>  one per node: the uplink eth0 (a veth whose peer is a bridge
//	            port in ool-sw), or for a tunnel-underlay node the uplink vxul
//	            (a VXLAN device, VNI 100, UDP 8472) over that veth.
//	ool-host    the only link in the host namespace (optional): a veth into
//	            the router with 172.<site>.0.1/16 so that processes in the
//	            host (the lab's kube-apiserver) reach every node. The router
//	            answers ARP for the whole /16 (proxy_arp), so the host needs
//	            no route beyond the connected one of its own address.
//
// Address plan for site S (default 28; the cluster e2e uses 29 so both can run
// at once). Private ranges were chosen to avoid the usual cloud, Docker
// (172.17) and Kubernetes (10.96, 10.244) ones:
//
//	segment  IPv4              IPv6                what
//	host     172.S.0.0/24      -                   host .1 (/16), router .254
//	a b c    172.S.{1,2,3}.0/24 fd00:S:{1,2,3}::/64 node uplinks, router .1, nodes .11+
//	x        172.S.4.0/24      fd00:S:4::/64       tunnel underlay (VXLAN over t)
//	t        172.S.5.0/24      -                   transport below x
//	inet     198.18.S.0/24     2001:db8:S::/64     internet .1, router .254
//
// Variants (VariantSpec) are the five underlays: 1 same L2; 2 two
// subnets behind the router; 3 the same with tunnel segmentation turned off
// on the uplinks (a virtio-net-like NIC); 4 uplinks that are VXLAN devices;
// 5 a mixed cluster of all of them.
package topo
