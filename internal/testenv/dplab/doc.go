// Package dplab builds a small throwaway datapath lab for tests and
// benchmarks of the node agent's datapath (packages overlay, peers, masq,
// gro): N "node" network namespaces whose uplinks (eth0, veth) are ports of
// one bridge in a "switch" namespace, plus routed /32 (/128) pods in their
// own namespaces behind each node.
//
// Why a lab of its own instead of the cluster topology: the datapath tests
// need only one L2 segment and must be fast to build (a few hundred ms), and
// they feed desired peers straight to package peers, no API server.
//
// Address plan (node i from 1, pod j from 1):
//
//	node uplink  192.168.77.i/24, fd00:77::i/64
//	pod CIDR     10.244.i.0/24,   fd00:244:i::/64
//	pod          10.244.i.(10+j)/32, fd00:244:i::(10+j)/128, gateway
//	             169.254.1.1 / fe80::1 (held by the node side of the pod veth)
//
// Every namespace is named with the lab's prefix ("oo-dp-<random>-", or
// Options.Prefix instead of "oo-dp-"); Close (registered with t.Cleanup)
// kills the processes the lab started and deletes every namespace, which
// takes links, routes and iptables with it.
package dplab
