// Package cnilat measures CNI ADD and DEL latency the way a runtime sees it:
// through libcni, one process per plugin invocation, host-local IPAM, in a
// throwaway node netns per plugin (e2e/cnienv).
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
package cnilat
