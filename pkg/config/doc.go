// Package config parses the offload-overlay CNI network configuration.
//
// Parsing is pure (no file, netlink or environment access) so it can be
// table-tested and fuzzed without root. It runs in four steps:
//
//  1. defaults:  stateDir = /run/offload-overlay, mtu = 0 (automatic);
//  2. unmarshal: the JSON from stdin, as libcni hands it over (the embedded
//     types.NetConf carries name, cniVersion, ipam, prevResult, GC's
//     cni.dev/valid-attachments);
//  3. validate:  every bad field becomes a CNI error with code 7 (invalid
//     network config) whose message names the field and the bad value, so an
//     operator reading kubelet's event knows what to fix;
//  4. derive:    the values that depend on the node (pod MTU, host-local
//     ranges, BIG TCP sizes) are computed from the node agent's state file,
//     which the caller reads and passes in: Derive does no I/O either.
//
// Why the plugin fills host-local's ranges itself: every node has its own
// pod CIDR, but a DaemonSet ships one conflist to all nodes. The agent
// publishes the node's podCIDRs in the state file; when the conflist has no
// ipam.ranges and no ipam.subnet, the plugin writes one range set per family
// from those CIDRs into the IPAM configuration (host-local only; other IPAM
// plugins keep their own address configuration) before delegating. Explicit
// ranges always win, which is also what makes the plugin usable with no agent
// at all (explicit mtu + explicit ranges, e.g. in tests or on a single node).
package config
