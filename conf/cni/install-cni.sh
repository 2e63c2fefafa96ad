#!/bin/sh
# install-cni.sh: the DaemonSet's init container. Installs this node's CNI plugin
# binaries into $CNI_BIN_DIR and the conflist into $CNI_CONF_DIR, each atomically:
# written to a temporary name in the same directory, then renamed, so the container
# runtime (which rescans /etc/cni/net.d and execs /opt/cni/bin/* at any moment) never
# sees a half-written file.
#
# The offload-overlay plugin and conflist are always replaced (an upgrade). The reference
# plugins the conflist chains (host-local, portmap, bandwidth) and the loopback plugin
# containerd needs are installed only where the node has none, so a distribution's own
# copies are never overwritten.
set -eu
SRC=${SRC:-/opt/offload-overlay}
CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
CONFLIST=${CONFLIST:-10-offload-overlay.conflist}

mkdir -p "$CNI_BIN_DIR" "$CNI_CONF_DIR"

install_atomic() { # install_atomic SRC DIR NAME MODE
	tmp="$2/.$3.tmp.$$"
	cp "$1" "$tmp"
	chmod "$4" "$tmp"
	mv -f "$tmp" "$2/$3"
}

install_atomic "$SRC/bin/offload-overlay" "$CNI_BIN_DIR" offload-overlay 0755
echo "installed $CNI_BIN_DIR/offload-overlay"
for p in host-local portmap bandwidth loopback; do
	if [ -x "$CNI_BIN_DIR/$p" ]; then
		echo "kept the node's $CNI_BIN_DIR/$p"
	else
		install_atomic "$SRC/bin/$p" "$CNI_BIN_DIR" "$p" 0755
		echo "installed $CNI_BIN_DIR/$p"
	fi
done
# Last: the runtime declares the network ready as soon as a conflist appears.
install_atomic "$SRC/$CONFLIST" "$CNI_CONF_DIR" "$CONFLIST" 0644
echo "installed $CNI_CONF_DIR/$CONFLIST"
