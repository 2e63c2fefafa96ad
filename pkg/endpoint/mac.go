package endpoint

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/overlay/vtep"
)

// CheckMAC refuses a published VTEP MAC that is not the one derived from
// its endpoint (vtep.MAC, which overlay.VTEPMAC is): every agent creates
// its VXLAN device with that MAC, so an honest node always publishes it,
// and a node that publishes another (a victim's) could otherwise take over
// the victim's FDB entry, or lock it out by being older.
func CheckMAC(ep netip.Addr, mac net.HardwareAddr) error {
	if mac == nil {
		return nil
	}
	want := vtep.MAC(ep.Unmap())
	if !bytes.Equal(mac, want) {
		return fmt.Errorf("VTEP MAC %s of endpoint %s is not the one derived from it (%s)", mac, ep, want)
	}
	return nil
}
