#!/bin/bash
# node-init.sh DIR NAME: the "init" of one cluster e2e node. Runs in a new mount +
# UTS namespace (unshare -m -u --propagation slave) joined to the node's network
# namespace, gives the node kind-like private paths, then sleeps; the e2e starts
# containerd, kubelet and kube-proxy in these namespaces with nsenter -t <this pid>.
set -euo pipefail
D=$1 NAME=$2
hostname "$NAME"
# Fresh sysfs (so /sys/class/net shows THIS network namespace) but keep the host's
# cgroup hierarchies (plain `ip netns exec` remounts /sys and loses them: kubelet then
# fails with "failed to find cgroup mounts").
mkdir -p "$D/.cg"
mount --rbind /sys/fs/cgroup "$D/.cg"
umount -l /sys
mount -t sysfs sysfs /sys
mount --move "$D/.cg" /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
# Private /run: containerd state, runc root, pod netns files, xtables.lock, agent state.
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/netns /run/lock
# Standard paths, node-private: CNI manifests and runtimes work unchanged.
for p in var/lib/kubelet var/lib/containerd var/lib/cni var/log/pods var/log/containers etc/cni/net.d opt/cni/bin lib/modules; do
	mount --bind "$D/root/$p" "/$p"
done
# Like a kind node: Bidirectional mount propagation works inside, nothing leaks out.
mount --make-rshared /
touch "$D/init.ready"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
