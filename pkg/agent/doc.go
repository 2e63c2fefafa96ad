// Package agent is the controller of the offload-overlay node agent, its
// Kubernetes side: it reads its own Node, publishes this node's facts,
// watches every other Node, decides the datapath of each pair and hands the
// desired paths to the kernel side, pkg/datapath, through its Kernel
// interface (desired paths in, observed facts and errors out). This package
// programs nothing itself: nothing it links, tests aside, imports netlink,
// iptables or nftables (a `make lint` guard on its whole dependency
// closure), and pkg/datapath imports nothing from Kubernetes. The binary
// builds the kernel side (pkg/datapath/linux) and the BGP speaker (pkg/bgp,
// whose gobgp links netlink) and passes both in (Main, Deps).
//
// The loop, and why it is shaped this way:
//
//   - One writer, one object. The agent patches only its own Node: the
//     annotation offload-overlay.io/node (a JSON merge patch of that one key)
//     and the NetworkUnavailable=False condition (nodes/status, a strategic
//     merge keyed by type, so kubelet's conditions stay). Peers learn
//     everything from annotations; no agent ever writes another Node.
//   - Symmetric inputs. The decision for a pair is computed on both ends
//     from the two published annotations (verdict, encapsulations, uplink
//     MTU, native-probe results, underlay routes), so both ends choose the
//     same mode: asymmetric paths break rp_filter and conntrack.
//   - Coalesced, diffed converges. Informer events only enqueue one key
//     ("sync"); a burst of Node updates costs one converge. A converge
//     recomputes the desired paths in memory (cheap: parsing and a pure
//     function per peer) and programs only the paths that differ from the
//     last applied set, so a Node change costs O(1) netlink calls. Route
//     lookups towards peers are cached between resyncs. The resync timer
//     ("resync") also lets the kernel side re-read the kernel and repair
//     drift; nothing is ever flushed. It first puts back a deleted VTEP
//     address, probe address on lo or tunnel device (reads only when all is
//     in place), then the peers' routes, neighbours and FDB entries: a
//     device's last IPv4 address takes its routes and neighbours with it.
//   - Heartbeats are filtered. Kubelets update Node status every few
//     seconds; only changes of the annotation, pod CIDRs or addresses (and a
//     condition someone else overwrote on our Node) enqueue a converge.
//   - Hostile or broken annotations never hijack a route. A node is a peer
//     only if its annotation parses, has our version, names unicast endpoint
//     IPs (no loopback, link-local, multicast, broadcast) and unicast VTEP
//     MACs, and its spec.podCIDRs lie inside the cluster CIDR of their
//     family, cover no node's endpoint IP, and overlap neither our pod
//     CIDRs nor another peer's. Between two overlapping peers the older Node
//     wins (creation time, then name), so the result does not depend on the
//     order events arrive in. Rejected nodes are logged once per reason and
//     counted (offload_overlay_ignored_peers).
//   - Ready means converged. The state file (pkg/state, read by the CNI
//     plugin's STATUS and ADD) says not-ready with a reason until the first
//     full converge ("waiting for node n1: node has no spec.podCIDRs
//     allocated yet"); the NetworkUnavailable condition is set only then.
//     A restarting agent that finds a ready state file for its node leaves
//     it ready: the datapath it describes is still in place.
//   - The pod MTU is the smallest MTU over the paths in use (the full uplink
//     MTU when every path is native); with no peer yet, the MTU an off-link
//     peer of this node's own kind would get, so early pods do not need a
//     smaller MTU later. BIG TCP sizes go into the state file only when
//     every path is native and the uplink itself accepts them.
//   - Doctor sees what the agent decided. Next to the state file the agent
//     keeps peers.json (pkg/state/peerstate): per pair the mode, rule,
//     reasons and both ends' decision inputs, which only the agent knows
//     (the peer's annotation, native probe results, underlay routes).
//     `doctor --peer IP` decides the pair again from it plus the kernel it
//     reads, with no API access. It is rewritten only when a key of its
//     inputs changes (0.26 ms per converge at 1000 peers, 1.7 MB file).
//   - Stopping is not cleaning. SIGTERM stops the loop and leaves devices,
//     routes, neighbours, FDB entries, rules and the state file in place: an
//     agent upgrade drops no established pod connection and the CNI plugin
//     keeps accepting pods. `offload-overlay-agent cleanup` removes it all.
//   - Small on every node. The agent links one API group: its client is
//     pkg/agent/coreapi (core/v1 over client-go's REST client), its Node
//     informer a plain SharedIndexInformer, its Event recorder uses a
//     core/v1-only scheme; client-go's clientset, informer factory and
//     all-groups scheme would link 57 API packages (binary 1.6x, file-backed
//     RSS 1.4x). The informer keeps trimmed Nodes (trimNode), and the
//     start-up burst's garbage is returned to the OS after the first full
//     converge. At 1000 peers (e2e/bench/agent) the binary holds about
//     29 MiB RSS 2 s after ready (0.61x the clientset build), peaking near
//     37 MiB during start-up. The manifest sets GOMEMLIMIT to the
//     container's memory limit; the binary sets no default soft limit (a
//     24 MiB one cut the peak 0.95x only, and would make a larger cluster's
//     GC run hot).
//
// The native probe (decision rule 2). For an off-link peer the underlay may
// or may not route pod CIDRs (a cloud route table, BGP); only a test of the
// real path tells. Every agent puts the first address of each of its pod
// CIDRs (10.244.1.1 for 10.244.1.0/24: host-local's gateway, never given to
// a pod) on lo as a /32 (/128), so every node answers ICMP at a known
// address inside its own pod CIDR. To probe peer P (pod CIDR 10.244.3.0/24)
// through the underlay next hop G, the agent installs a temporary host route
// that bypasses whatever path P currently has,
//
//	ip route replace 10.244.3.1/32 via G dev <uplink> src 10.244.1.1 proto 0x50
//
// sends up to three ICMP echo requests from 10.244.1.1 to 10.244.3.1 on a
// raw socket, and removes the route. A reply proves that the underlay
// delivers to P's pod CIDR natively; P's own probe proves the reverse
// direction, and each agent publishes its result per peer in its
// annotation (nativeProbe). The decision picks native only when both ends
// report success. Probes run when a new off-link peer appears, on the probe
// timer (--probe-period), and after an underlay route or policy rule
// change (a monitor, `ip monitor route rule`, ignoring our own routes, also
// refreshes the cached route lookups: a rule can change the route to a
// peer without any route changing); a changed result republishes the annotation and
// re-decides the pair. Up to 16 probes run at once. A restarted agent
// starts from the results its previous instance published, so a restart
// does not flap native pairs to VXLAN while the first round runs. The probe is skipped when the operator already
// vouched for the underlay (--underlay-routes-pod-cidrs) or forced a tunnel
// mode. The /32 only shadows P's probe address, never a pod, for about a
// second; proto 0x50 keeps it apart from the peer routes (proto 0x4f) and
// lets cleanup find leftovers of an interrupted probe.
//
// GRO: the VXLAN device has GRO on (its default); rx-udp-gro-forwarding on
// the uplink is left alone, because the lab measured no gain from it on
// this datapath (see shared kernel-lab notes in the README).
package agent
