// Package vtep derives the MAC address of a node's tunnel devices from its
// node IP. It is apart from package overlay, which creates the devices
// over netlink, because peer admission (pkg/endpoint, in the controller)
// checks a peer's published MAC against the same derivation and links no
// netlink.
package vtep

import (
	"crypto/sha256"
	"net"
	"net/netip"
)

// MAC returns the MAC address of this node's tunnel device for nodeIP.
// It is a locally administered unicast address derived from the node IP, so
// it is stable across agent restarts and device recreation, and distinct
// (with overwhelming probability) between nodes.
func MAC(nodeIP netip.Addr) net.HardwareAddr {
	ip16 := nodeIP.As16()
	sum := sha256.Sum256(append([]byte("offload-overlay vtep "), ip16[:]...))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] &^ 0x01) | 0x02 // unicast, locally administered
	return mac
}
