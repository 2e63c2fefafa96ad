// Package cnilat measures CNI ADD and DEL latency the way a runtime sees it:
// through libcni, one process per plugin invocation, host-local IPAM, in a
// throwaway node netns per plugin (internal/testenv/cnienv).
//
// Why interleaved: on a shared 2-core machine the background load drifts
// by more than the differences being measured. Pod i of every plugin is
// added (then deleted) in the same round, in an order rotated each round,
// so drift hits all plugins alike and the ratios of the same run are
// meaningful even when absolute times are not.
//
// Why ptp and bridge as baselines: they are the reference "first plugin in
// a chain" implementations from containernetworking/plugins, built from the
// module version pinned in go.mod. ptp with ipMasq true is its usual
// setting; with false it is the same datapath minus iptables. bridge is the
// other common shape (one L2 domain per node).
//
// Measure is exported so the lab (e2e/lab) reuses the same table;
// e2e/bench/cni_latency_test.go prints it under `make bench`.
//
// Where an offload-overlay ADD spends its time (100 pods, this project's
// 2-core VM, OFFLOAD_OVERLAY_TRACE=1 medians; libcni saw ~10 ms): ~3.6 ms
// before the plugin's first line runs (libcni, fork/exec, Go runtime start
// of a 3.6 MB static binary), 0.2 ms config and state file, 5.6 ms the
// host-local exec (its own exec and start dominate), during which the veth
// pair is created in parallel (1.4-3.4 ms, hidden), then 0.2 ms for the
// pod and host addresses and routes (one netlink request each) and 0.2 ms for
// the forwarding check and the result. ADD is two process starts plus
// file locking in host-local; ptp adds its veth setup serially and
// iptables when ipMasq is on. DEL (~24 ms) is the kernel deleting the
// veth pair (~19 ms of RCU grace periods; `ip link del` of a veth takes
// 20-30 ms here too) with host-local's DEL (~5 ms) in parallel.
package cnilat
