#!/usr/bin/env bash
# Installs the system packages the tests and the lab need, once.
# Idempotent: does nothing when every command is already present.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have iperf3     || need+=(iperf3)
have ethtool    || need+=(ethtool)
have iptables   || need+=(iptables)
have ip         || need+=(iproute2)
have containerd || need+=(containerd)
have runc       || need+=(runc)
have etcd       || need+=(etcd-server)
have etcdctl    || need+=(etcd-client)
have strace     || need+=(strace)
have socat      || need+=(socat)
have ping       || need+=(iputils-ping)
have bird       || need+=(bird2)   # the lab's top-of-rack BGP router (issue 12)
# the conformance run's images (agnhost, jessie-dnsutils, busybox stand-ins) are packed
# from these (e2e/cluster/conformance_images.go)
have busybox    || need+=(busybox-static)
have dig        || need+=(bind9-dnsutils)
have nc         || need+=(netcat-openbsd)
have curl       || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "deps: ok"
