package config

import (
	"errors"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// FuzzParse checks that Parse never panics, that every rejection is a CNI
// error with code 7, and that an accepted config derives without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{` + base + `,"ipam":{"type":"host-local"}}`,
		`{` + base + `,"mtu":1400,"stateDir":"/x","ipam":{"type":"host-local","ranges":[[{"subnet":"10.0.0.0/24"}]]}}`,
		`{` + base + `,"ipam":{"type":"host-local","subnet":"fd00::/64"}}`,
		`{"name":1}`, `[]`, `null`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	node := &state.NodeState{MTU: 1450, PodCIDRs: []string{"10.0.0.0/24", "fd00::/64"}, GSOMaxSize: 185000}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse(in)
		if err != nil {
			var ce *types.Error
			if !errors.As(err, &ce) || ce.Code != types.ErrInvalidNetworkConfig {
				t.Fatalf("rejection is not a code-7 CNI error: %#v", err)
			}
			return
		}
		d, err := c.Derive(node, func() (int, error) { return 1500, nil })
		if err == nil && (d.MTU < MinMTU || d.MTU > MaxMTU || len(d.IPAMConf) == 0) {
			t.Fatalf("derived %+v from valid config", d)
		}
		if _, err := c.IPAMConfigForRelease(nil); err != nil {
			t.Fatalf("IPAMConfigForRelease: %v", err)
		}
	})
}
