// Package masq masquerades pod traffic that leaves the cluster, with
// iptables chains of our own, for IPv4 and IPv6.
//
// Shape (per family, table nat):
//
//	-A POSTROUTING -m comment --comment "offload-overlay: pod egress masquerade" -j OO-MASQ
//	-A OO-MASQ -d <cluster CIDR> -j RETURN         (one per cluster CIDR: pod-to-pod stays unNATed)
//	-A OO-MASQ -s <local pod CIDR> -j MASQUERADE [--random-fully]
//
// Why this shape:
//
//   - Pod-to-pod traffic must keep the pod's source address (network
//     policy and the peer's logs see the real pod), so every cluster CIDR
//     returns first; only what leaves the cluster is masqueraded, to the
//     uplink's address chosen by the kernel.
//   - Our own chain with a single jump makes Ensure idempotent and cheap to
//     check, and Cleanup exact: it removes the jump and the chain, never a
//     rule of kube-proxy or any other software.
//   - Ensure verifies the chain's content (every expected rule present and
//     nothing else) and rewrites the chain only when it differs, so a
//     periodic Ensure does not churn the ruleset and repairs a flushed or
//     edited chain. The rewrite is one iptables-restore transaction: never
//     an empty chain (pod egress leaving with pod addresses) nor a half one
//     (pod-to-pod masqueraded).
//   - --random-fully (when iptables supports it) avoids source-port
//     collisions between pods sharing the node's address.
//
// go-iptables runs the iptables binaries, which act on the network
// namespace of the thread that forks them; callers (and tests) that target
// another namespace run Ensure inside ns.Do, which locks the thread.
package masq
