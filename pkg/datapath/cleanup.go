package datapath

import (
	"errors"

	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/pkg/masq"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/peers"
)

// Cleanup removes every route, tunnel device, FDB entry, neighbour and
// masquerade rule the agent made, in the calling thread's network namespace.
// Missing pieces are success, so it can run any number of times.
// Equivalent to:
//
//	ip route flush proto 0x4f table all; ip -6 route flush proto 0x4f table all
//	ip link del oo-vxlan4; ip link del oo-vxlan6 (and oo-geneve4/6)
//	iptables -t nat -D POSTROUTING ... -j OO-MASQ; iptables -t nat -X OO-MASQ (and ip6tables)
func Cleanup() error {
	h := &netlink.Handle{}
	return errors.Join(
		peers.Cleanup(h),
		overlay.TeardownAll(h),
		masq.Cleanup(),
	)
}
