package gro_test

import (
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/e2e/bench/gro"
	"github.com/offload-overlay/offload-overlay/internal/testenv/dplab"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
)

// TestSetAndReadBack: GRO off then on on the VXLAN device, and
// rx-udp-gro-forwarding on the uplink, read back from the kernel.
func TestSetAndReadBack(t *testing.T) {
	l := dplab.New(t, dplab.Options{Nodes: 1})
	n := l.Nodes[0]
	if _, err := n.EnsureOverlay(1); err != nil {
		t.Fatal(err)
	}
	vx := overlay.DeviceName(overlay.KindVXLAN, 4)
	err := n.NS.Do(func(ns.NetNS) error {
		if on, err := gro.Get(vx, gro.FeatureGRO); err != nil || !on {
			t.Errorf("fresh vxlan GRO = %t, %v; want on", on, err)
		}
		if changed, err := gro.Set(vx, gro.FeatureGRO, false); err != nil || !changed {
			t.Errorf("GRO off: changed=%t err=%v", changed, err)
		}
		if err := gro.Ensure([]string{vx}, n.Uplink, gro.Policy{TunnelGRO: true, UplinkUDPGROForwarding: true}); err != nil {
			t.Fatal(err)
		}
		if on, _ := gro.Get(vx, gro.FeatureGRO); !on {
			t.Error("Ensure did not turn GRO back on")
		}
		if on, _ := gro.Get(n.Uplink, gro.FeatureUDPGROForwarding); !on {
			t.Error("Ensure did not set rx-udp-gro-forwarding")
		}
		if changed, err := gro.Set(vx, gro.FeatureGRO, true); err != nil || changed {
			t.Errorf("idempotent Set: changed=%t err=%v", changed, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
