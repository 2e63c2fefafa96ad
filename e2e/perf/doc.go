// Package perf measures pod-to-pod and node-to-node TCP throughput in the lab
// the way the lab kernel notes (shared/kernel-lab.md) say gives stable numbers
// on small shared machines:
//
//   - one iperf3 stream, client and server pinned to the same CPU
//     (`iperf3 -A 1,1`): the whole veth path runs in softirq on the sending
//     CPU, so this measures throughput per core and repeats within ~5%;
//     unpinned runs reorder packets across CPUs and swing by 2x;
//   - cubic (`-C cubic`), because the host default (bbr) may not be
//     selectable in a fresh namespace;
//   - a large receive buffer in every namespace that terminates TCP
//     (`net.ipv4.tcp_rmem = 4096 16777216 33554432`): with the default, a
//     receiver sharing the sender's CPU falls into zero-window stop-and-go;
//   - cases interleaved round by round, medians reported, and every figure
//     also as a ratio to a baseline measured in the same round, so drift of
//     the machine (other tenants, thermal) cancels out;
//   - per-device byte and packet counter deltas (what `ip -s link` shows),
//     whose quotient is the average packet size on that device: ~44 KB means
//     super-packets crossed it whole, ~1.5 KB means they were cut before it.
package perf
