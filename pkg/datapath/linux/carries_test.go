package linux_test

import (
	"net/netip"
	"testing"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
)

// TestUnderlayCarries: towards an off-link peer behind the VXLAN underlay
// vx0, a route on vx0 covers the remote pods, so the underlay carries
// them; it carries no other prefix (eth0's default route is not on vx0).
func TestUnderlayCarries(t *testing.T) {
	n := offloadtest.Build(t, offloadtest.VXLANUnderlay)
	ones, _ := offloadtest.RemotePods.Mask.Size()
	a, _ := netip.AddrFromSlice(offloadtest.RemotePods.IP)
	pods := netip.PrefixFrom(a.Unmap(), ones)
	other := netip.MustParsePrefix("10.77.0.0/24")
	peer, _ := netip.AddrFromSlice(offloadtest.OffLinkPeer.To4())
	for _, c := range []struct {
		cidr netip.Prefix
		want bool
	}{{pods, true}, {other, false}} {
		got, _, err := linux.UnderlayCarries(n, peer, c.cidr)
		if err != nil || got != c.want {
			t.Errorf("UnderlayCarries(vx0, %s) = %v, %v; want %v", c.cidr, got, err, c.want)
		}
	}
}
