package offload_test

import (
	"net"
	"slices"
	"testing"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// TestInspectIfaceVia: a bridge uplink walked from its name alone counts
// every port (a guest's port without tunnel segmentation too); with the
// default gateway as Via it follows the port the FDB names, as the kernel
// forwards: the agent's uplink verdict then matches a per-peer walk.
func TestInspectIfaceVia(t *testing.T) {
	n := offloadtest.Build(t, offloadtest.BridgeFDB)
	all, err := offload.InspectIn(n, offload.Target{Iface: "br0"})
	if err != nil {
		t.Fatal(err)
	}
	if v := offload.VerdictOf(all); v.TunnelSegmentation {
		t.Errorf("without Via: verdict %+v, want eth1 (no tunnel segmentation) on the path", v)
	}
	p, err := offload.InspectIn(n, offload.Target{Iface: "br0", Via: net.ParseIP("10.0.0.254")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range p.Devices {
		names = append(names, d.Name)
	}
	if v := offload.VerdictOf(p); !v.TunnelSegmentation || !slices.Equal(names, []string{"br0", "eth0"}) {
		t.Errorf("with Via: path %v verdict %+v, want br0 eth0 with tunnel segmentation", names, v)
	}
	if p.OnLink || p.Dest != nil {
		t.Errorf("with Via: onLink %v dest %v, want neither (Via is no destination)", p.OnLink, p.Dest)
	}
}
