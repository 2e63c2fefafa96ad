package gro

import (
	"errors"
	"fmt"

	"github.com/safchain/ethtool"
)

// Feature names, as `ethtool -k` prints them.
const (
	FeatureGRO              = "rx-gro"
	FeatureUDPGROForwarding = "rx-udp-gro-forwarding"
)

// Policy says which setting the agent keeps.
type Policy struct {
	// TunnelGRO keeps rx-gro on the tunnel devices (false: leave as is).
	TunnelGRO bool
	// UplinkUDPGROForwarding turns rx-udp-gro-forwarding on on the uplink
	// (false: leave as is; the agent never turns off what an operator set).
	UplinkUDPGROForwarding bool
}

// DefaultPolicy is what the lab measurement supports (e2e/bench/gro: 2 node
// netns over a veth underlay, VXLAN, one pinned iperf3 stream, cases
// interleaved over 3 rounds, two runs, ratios to the default of the same
// round, on a shared and noisy 2-core machine):
//
//   - GRO on the VXLAN device is kept. When the sender's uplink has no
//     tunnel segmentation (virtio-like), turning it off cut throughput to
//     0.66x and 0.80x (medians of two runs) and the pod received 1460-byte
//     packets instead of ~26.5 KB aggregates. With tunnel segmentation the
//     super-packets arrive whole (~43 KB) and GRO has nothing to do
//     (1.04x-1.11x, noise).
//   - rx-udp-gro-forwarding (and rx-gro) on the uplink of a node that
//     terminates the tunnel is not set: the uplink kept receiving 1510-byte
//     packets (veth uses its GRO path only when the sending peer has TSO
//     off), so there is no mechanism behind the scattered ratios
//     (0.91x-1.46x per round). It is for nodes that forward tunnel traffic.
func DefaultPolicy() Policy {
	return Policy{TunnelGRO: true, UplinkUDPGROForwarding: false}
}

// ErrFixed is returned (wrapped) when a feature cannot be changed on the
// device ("[fixed]" in ethtool -k).
var ErrFixed = errors.New("feature is fixed on this device")

// Get returns whether feature is active on iface.
// Equivalent to: ethtool -k <iface> | grep <feature>
func Get(iface, feature string) (bool, error) {
	e, err := ethtool.NewEthtool()
	if err != nil {
		return false, fmt.Errorf("ethtool: %w", err)
	}
	defer e.Close()
	s, err := state(e, iface, feature)
	return s.Active, err
}

// state reads one feature's state on iface.
func state(e *ethtool.Ethtool, iface, feature string) (ethtool.FeatureState, error) {
	st, err := e.FeaturesWithState(iface)
	if err != nil {
		return ethtool.FeatureState{}, fmt.Errorf("reading features of %s: %w", iface, err)
	}
	s, ok := st[feature]
	if !ok {
		return ethtool.FeatureState{}, fmt.Errorf("%s: no feature %q", iface, feature)
	}
	return s, nil
}

// Set turns feature on or off on iface; it reports whether it changed
// anything (a feature already in the wanted state is left alone).
// Equivalent to: ethtool -K <iface> <feature> on|off
func Set(iface, feature string, on bool) (bool, error) {
	e, err := ethtool.NewEthtool()
	if err != nil {
		return false, fmt.Errorf("ethtool: %w", err)
	}
	defer e.Close()
	s, err := state(e, iface, feature)
	switch {
	case err != nil:
		return false, err
	case s.Active == on:
		return false, nil
	case !s.Available:
		return false, fmt.Errorf("%s %s %t: %w", iface, feature, on, ErrFixed)
	}
	if err := e.Change(iface, map[string]bool{feature: on}); err != nil {
		return false, fmt.Errorf("setting %s %s %t: %w", iface, feature, on, err)
	}
	if now, err := Get(iface, feature); err == nil && now != on {
		return false, fmt.Errorf("%s %s stays %t (depends on another feature)", iface, feature, now)
	}
	return true, nil
}

// Ensure applies p: rx-gro on each tunnel device, rx-udp-gro-forwarding on
// the uplink. Settings the policy does not ask for are left untouched.
func Ensure(tunnels []string, uplink string, p Policy) error {
	var errs []error
	if p.TunnelGRO {
		for _, t := range tunnels {
			if _, err := Set(t, FeatureGRO, true); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p.UplinkUDPGROForwarding && uplink != "" {
		if _, err := Set(uplink, FeatureUDPGROForwarding, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
