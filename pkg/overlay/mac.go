package overlay

import (
	"net"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/overlay/vtep"
)

// VTEPMAC returns the MAC address of this node's tunnel device for nodeIP
// (vtep.MAC: derived from the node IP, stable across restarts).
func VTEPMAC(nodeIP netip.Addr) net.HardwareAddr { return vtep.MAC(nodeIP) }
