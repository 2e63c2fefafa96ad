// Package firewall closes the VXLAN datapath to pods and to strangers.
//
// A VXLAN device accepts any UDP datagram sent to its port on any address
// of the node (the kernel binds the socket to the wildcard address) and
// delivers the inner frame as if it came from the tunnel: whoever can
// reach the port can inject packets with forged pod source addresses.
// Two kinds of sender must therefore be stopped:
//
//   - strangers: only peer nodes' endpoint addresses may send to this
//     node's VXLAN port; a datagram from any other source is dropped on
//     input.
//   - pods: a pod on this node must not send to any node's VXLAN port.
//     Such a datagram leaves the node masqueraded to the node's own
//     address (OO-MASQ rewrites pod egress to non-pod destinations), so
//     the receiving node would see a peer's address and accept it. It is
//     dropped on forward here, where its pod source is still visible:
//     source in this node's pod CIDRs, destination not a pod.
//
// The rules live in one nftables table of their own ("inet oo-filter"),
// so they coexist with kube-proxy's and the distribution's iptables-nft
// tables (a packet must be accepted by every base chain on the hook) and
// with nothing to flush but our own. Peer addresses are elements of a
// hashed set per family (@peers4, @peers6): one lookup per datagram
// whatever the cluster size. Pod prefixes are interval sets.
//
// Ensure replaces the whole table content in one netlink batch, which the
// kernel applies atomically: there is never a window with an empty peer
// set (which would drop every tunnel packet) or without the rules.
//
// Equivalent to (nft syntax, VXLAN port 4789):
//
//	table inet oo-filter {
//	  set peers4 { type ipv4_addr; }        set peers6 { type ipv6_addr; }
//	  set localpods4 { type ipv4_addr; flags interval; }   (and 6)
//	  set pods4 { type ipv4_addr; flags interval; }        (and 6)
//	  chain input { type filter hook input priority -10;
//	    meta nfproto ipv4 udp dport 4789 ip saddr != @peers4 counter drop
//	    meta nfproto ipv6 udp dport 4789 ip6 saddr != @peers6 counter drop }
//	  chain forward { type filter hook forward priority -10;
//	    meta nfproto ipv4 udp dport 4789 ip saddr @localpods4 ip daddr != @pods4 counter drop
//	    meta nfproto ipv6 udp dport 4789 ip6 saddr @localpods6 ip6 daddr != @pods6 counter drop }
//	}
//
// Non-first IP fragments carry no UDP header and are not matched; the
// VXLAN devices the agent creates never fragment (the pod MTU leaves room
// for the overhead).
package firewall
