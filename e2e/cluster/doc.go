// Package cluster is the multi-node Kubernetes e2e: a real cluster on one
// machine, offload-overlay installed on it exactly as an operator does
// (`kubectl apply -f conf/kubernetes/offload-overlay.yaml`), then checked.
//
// Why this shape: kind needs a Docker engine, which CI machines here do not
// have, and a fake API or a single node hides what matters for a CNI: the
// DaemonSet's RBAC really enforced, the init container installing into each
// node's own /opt/cni/bin and /etc/cni/net.d, peers learning about each other
// through the API, traffic crossing real underlays. So:
//
//   - The underlay is the lab's (package topo, prefix "ooc-", site 29 so it
//     can run beside the lab): node network namespaces on L2 segments behind
//     a router, with or without tunnel segmentation, or on a VXLAN underlay,
//     plus an "internet" namespace for masquerade and a host link.
//   - The control plane runs on the host (package k8senv): etcd,
//     kube-apiserver on the host link's address with --authorization-mode=
//     Node,RBAC (kubelets authenticate as system:node:<name>, kube-proxy as
//     system:kube-proxy, the agent with its ServiceAccount token),
//     kube-controller-manager allocating pod CIDRs, kube-scheduler.
//   - Each node is its network namespace plus its own mount and UTS
//     namespaces (node-init.sh): a fresh sysfs that keeps the host's cgroups,
//     a private /run, and the standard paths (/var/lib/kubelet, /etc/cni/net.d,
//     /opt/cni/bin, ...) bind-mounted from the node's directory, so manifests
//     work unchanged. containerd, kubelet (cgroupRoot /<node>) and kube-proxy
//     (conntrack sysctls left alone: they are read-only outside init_net) run
//     there, started with nsenter.
//   - No registry: the pause image, a test image (testimg, one static Go
//     binary) and the project's image are packed by hand as docker-archive
//     tarballs and imported into every node's containerd. The project's
//     image holds the files of the Dockerfile's final stage (ImageLayout, from
//     make build / make ref-plugins, plus the Debian runtime's shell and
//     iptables-nft taken from this Debian 12 host with their libraries).
//
// Every node runs containerd 2 (built by `make containerd`; OO_CONTAINERD=1.6
// runs Debian's 1.6 instead), which calls ADD, DEL and, with the shipped
// conflist's cniVersions, STATUS: CheckStatusGatesPods shows a node without
// its agent turning NotReady through STATUS and getting no pods. No
// containerd calls CHECK or GC, so cnidrive drives the installed conflist
// through libcni inside a node for those (GC with the runtime's sandboxes as
// the valid list, as a runtime would).
//
// TestClusterBGP puts BIRD 2 (internal/testenv/bgprouter) in the underlay's
// router namespace, which then routes no pod CIDR but what the agents
// announce, and installs the manifest as README's BGP section tells an
// operator to: `kubectl apply -k` of a kustomization over the shipped file
// that sets the ConfigMap's BGP keys and generates the password Secret, plus
// a Node label per rack naming its router.
//
// TestConformance (make conformance) runs the upstream e2e.test's
// sig-network conformance specs on such a cluster, with CoreDNS as cluster
// DNS, the e2e images packed from Go sources and Debian packages under the
// names the e2e framework expects, and host routes so that the API server,
// which runs on the host outside the overlay, reaches pods for its proxy.
//
// Teardown is registered with t.Cleanup and runs on failure too: node daemons
// and pods (by mount namespace and cgroup), cgroups, the control plane, the
// underlay (topo.Down), the host mount points it had to create. OOC_PAUSE=1
// keeps a failed cluster running for inspection.
package cluster
