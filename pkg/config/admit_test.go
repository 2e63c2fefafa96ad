package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAdmitAdd: ADD needs a ready agent unless the config is standalone
// (explicit mtu and ranges); a refusal is code 11 carrying the reason.
func TestAdmitAdd(t *testing.T) {
	ready := &state.NodeState{Ready: true, MTU: 1450}
	notReady := &state.NodeState{Reason: "uplink eth0 has no address yet"}
	crashed := &state.NodeState{Reason: "the previous agent process ended without a clean stop"}
	fromState := `{` + base + `,"ipam":{"type":"host-local"}}`
	mtuOnly := `{` + base + `,"mtu":1400,"ipam":{"type":"host-local"}}`
	rangesOnly := `{` + base + `,"ipam":{"type":"host-local","subnet":"10.9.0.0/24"}}`
	standalone := `{` + base + `,"mtu":1400,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.9.0.0/24"}]]}}`
	for _, tc := range []struct {
		name, conf string
		node       *state.NodeState
		want       string // "" admitted, else a substring of the code-11 message
	}{
		{"ready", fromState, ready, ""},
		{"no state", fromState, nil, "has not written its state"},
		{"not ready", fromState, notReady, "uplink eth0 has no address yet"},
		{"crash-looping agent", fromState, crashed, "without a clean stop"},
		{"not ready, no reason", fromState, &state.NodeState{}, "no reason given"},
		{"mtu alone is not standalone", mtuOnly, nil, "has not written its state"},
		{"ranges alone are not standalone", rangesOnly, notReady, "not ready"},
		{"standalone without state", standalone, nil, ""},
		{"standalone with a not-ready state", standalone, notReady, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.conf))
			if err != nil {
				t.Fatal(err)
			}
			err = c.AdmitAdd(tc.node)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var te *types.Error
			if !errors.As(err, &te) || te.Code != types.ErrTryAgainLater || !strings.Contains(te.Msg, tc.want) {
				t.Fatalf("got %v, want code 11 with %q", err, tc.want)
			}
		})
	}
}
