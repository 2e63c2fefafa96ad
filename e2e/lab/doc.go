// Package lab runs offload-overlay on a multi-node lab: node namespaces from
// package topo, each running the real agent binary against a real
// kube-apiserver (package k8senv) that listens on the host end of the lab's
// host link, and pods created through libcni (the library containerd and
// CRI-O call) with the project's conflist and the real plugin binaries.
//
// Why this shape: the product's claim is about what the kernel does with
// super-packets on each underlay, and about two agents agreeing on a mode
// from facts they publish on their Node objects. Both are only proven with
// the real kernel path and the real API path: nothing here is simulated.
// What the lab does itself is only what kubelet and kube-controller-manager
// would do on a cluster: create a Node with its InternalIP and podCIDRs, and
// call the CNI plugin for each pod.
//
// Per node, everything the agent and plugin write lives under
// /run/offload-overlay-lab/<prefix><node>/ (agent --state-dir, the plugin's
// stateDir, host-local's dataDir, libcni's cache), so nodes that share the
// machine's mount namespace never share state.
//
// The baselines the lab measures beside "auto" are programmed by the lab, not
// by the agent, so that they can be interleaved with auto in one run:
//   - forced VXLAN: what a static VXLAN overlay (flannel's vxlan backend)
//     does, one VXLAN level to every peer whatever the underlay: a lab VXLAN
//     device per node (VNI 42, UDP 4799, learning off, static FDB and
//     neighbour entries) and a /32 route per remote pod, with the pod MTU of
//     that overlay set on the pod's own route;
//   - forced native: a /32 route per remote pod via the peer node (on-link)
//     or the router (off-link; it connects only where the router routes pod
//     CIDRs);
//   - bare: iperf3 between the node namespaces themselves, the kernel's best.
//
// Without an agent (Config.Datapath "native" or "vxlan"), the same mechanism
// programs whole pod CIDRs, which is how the lab was validated before the
// agent existed and how the datapath can be compared with no agent at all.
package lab
