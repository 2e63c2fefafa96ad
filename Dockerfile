# syntax=docker/dockerfile:1
# offload-overlay image: the node agent (DaemonSet container), the CNI plugin and its
# conflist (copied onto the node by the init container, conf/cni/install-cni.sh).
#
#   make image                       # docker, podman or buildah, whichever exists
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/offload-overlay/offload-overlay:v0.1.0 .
#
# Runs as root: a CNI agent programs the node's network. What it needs, and what the
# manifest grants (conf/kubernetes/offload-overlay.yaml):
#   CAP_NET_ADMIN  links (vxlan device), routes, FDB, neighbours, iptables (nft) rules,
#                  ethtool feature reads and GRO settings
#   CAP_NET_RAW    the native-path ICMP probe and iptables
#   CAP_SYS_ADMIN  only to create the throwaway network namespace in which the
#                  tunnel-kind probe tries each device kind (unshare/setns)
#   nothing else: the agent writes no sysctl (the CNI plugin, run by the runtime on the
#                  host, sets forwarding), so the manifest does not run it privileged;
#                  in the host network namespace, nothing of the host is mounted
#                  read-write except /run/offload-overlay and /run/xtables.lock.

ARG GO_VERSION=1.26
ARG DEBIAN=bookworm

FROM golang:${GO_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Static binaries (CGO off), no paths from the build machine (-trimpath), symbols
# stripped, version stamped into pkg/version; plus the reference plugins the conflist
# chains (host-local, portmap, bandwidth) and loopback, from the version pinned in go.mod.
# The paths under /out are the final image's (e2e/cluster ImageLayout packs the same).
RUN set -eux; \
    export CGO_ENABLED=0; \
    ld="-s -w -X github.com/offload-overlay/offload-overlay/pkg/version.Version=${VERSION}"; \
    go build -trimpath -ldflags "$ld" -o /out/usr/local/bin/offload-overlay-agent ./plugins/main/offload-overlay-agent; \
    go build -trimpath -ldflags "$ld" -o /out/opt/offload-overlay/bin/offload-overlay ./plugins/main/offload-overlay; \
    go build -trimpath -ldflags "-s -w" -o /out/opt/offload-overlay/bin/ \
        github.com/containernetworking/plugins/plugins/ipam/host-local \
        github.com/containernetworking/plugins/plugins/meta/portmap \
        github.com/containernetworking/plugins/plugins/meta/bandwidth \
        github.com/containernetworking/plugins/plugins/main/loopback; \
    install -D -m 0644 conf/cni/10-offload-overlay.conflist /out/opt/offload-overlay/10-offload-overlay.conflist; \
    install -D -m 0755 conf/cni/install-cni.sh /out/usr/local/bin/install-cni.sh

# Runtime: Debian slim with iptables on the nft backend (go-iptables execs iptables and
# ip6tables; the legacy backend would write rules the host's nft ruleset does not see).
FROM debian:${DEBIAN}-slim
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends iptables; \
    rm -rf /var/lib/apt/lists/*; \
    update-alternatives --set iptables /usr/sbin/iptables-nft; \
    update-alternatives --set ip6tables /usr/sbin/ip6tables-nft
COPY --from=build /out/ /
ARG VERSION=dev
LABEL org.opencontainers.image.title="offload-overlay" \
      org.opencontainers.image.source="https://github.com/offload-overlay/offload-overlay" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/usr/local/bin/offload-overlay-agent"]
CMD ["run"]
