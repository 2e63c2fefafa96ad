package offload

import (
	"errors"
	"os"
	"testing"
)

func TestProbeEncaps(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	res, err := ProbeEncapSupport()
	if err != nil {
		t.Fatalf("ProbeEncapSupport: %v", err)
	}
	for _, r := range res {
		t.Logf("%s: ok=%v err=%v", r.Kind, r.OK, r.Error)
		if !r.OK && !errors.Is(r.Error, ErrKindUnsupported) {
			t.Errorf("%s: unexpected error kind: %v", r.Kind, r.Error)
		}
	}
	kinds, err := ProbeEncaps()
	if err != nil || len(kinds) == 0 || kinds[0] != "vxlan" {
		t.Fatalf("ProbeEncaps = %v, %v; want vxlan first", kinds, err)
	}
}

func TestCanCreate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, k := range []string{"veth", "bridge", "vxlan", "macvlan"} {
		if err := CanCreate(k); err != nil {
			t.Errorf("CanCreate(%s): %v", k, err)
		}
	}
	for _, k := range []string{"geneve", "vrf", "bond", "vlan", "dummy", "ipvlan", "wireguard"} {
		err := CanCreate(k)
		t.Logf("CanCreate(%s) = %v", k, err)
		if err != nil && !errors.Is(err, ErrKindUnsupported) {
			t.Errorf("CanCreate(%s): error does not wrap ErrKindUnsupported: %v", k, err)
		}
	}
}
