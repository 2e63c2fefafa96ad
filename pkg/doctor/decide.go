package doctor

import (
	"fmt"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// inputOf builds the decision input for the peer doctor was asked about:
// this node's facts on both sides (the peer's published facts are unknown
// here), on-link from the route to --peer, off-link without one.
func inputOf(o Options, p *offload.Path, e *offload.Egress, v offload.Verdict, es []offload.EncapSupport) (decision.Input, []string, error) {
	side := decision.Side{Verdict: v, UplinkMTU: uplinkMTU(p)}
	for _, e := range es {
		if e.OK {
			side.Encaps = append(side.Encaps, e.Kind)
		}
	}
	var notes []string
	if e != nil {
		// The agent's view of this peer: the route to its node IP (every
		// ECMP hop, the table policy routing picks), the walk and the MTU
		// below it, exactly as the agent publishes it.
		side.View = decision.View{Known: true, OnLink: e.AllOnLink(), Egress: e.Device, EgressKind: e.Kind}
		if e.Gateway != nil {
			side.View.Gateway = e.Gateway.String()
		}
		if e.Source != nil {
			side.View.Source = e.Source.String()
		}
		side.Verdict, side.UplinkMTU = e.Verdict, e.MTU
	}
	switch {
	case o.Peer != nil && o.PeerPodCIDR != nil:
		ok, byDefault, err := underlayCarries(o)
		if err != nil {
			return decision.Input{}, nil, fmt.Errorf("checking the route to %s: %w", o.PeerPodCIDR, err)
		}
		side.UnderlayCarriesPeerPodCIDR, side.CarriedByDefault = ok, byDefault
	case v.HasTunnelUnderlay():
		notes = append(notes, "no --peer and --peer-pod-cidr given: cannot tell whether the tunnel underlay carries the peer's pod CIDR (assumed not)")
	}
	in := decision.Input{Local: side, Peer: side, OnLink: p.OnLink, IPv6Underlay: ipv6Outer(o, p)}
	if o.Peer != nil {
		in.PeerNodeIP = o.Peer.String()
	} else {
		notes = append(notes, "no --peer given: decision for an off-link peer of the same kind as this node")
	}
	if o.PeerPodCIDR != nil {
		in.PeerPodCIDR = o.PeerPodCIDR.String()
	}
	notes = append(notes, "peer facts assumed equal to this node's (doctor reads only this node's kernel)")
	return in, notes, nil
}

func uplinkMTU(p *offload.Path) int {
	if len(p.Devices) == 0 {
		return 0
	}
	return p.Devices[0].MTU
}

func ipv6Outer(o Options, p *offload.Path) bool {
	switch {
	case o.Peer != nil:
		return o.Peer.To4() == nil
	case p.Gateway != nil:
		return p.Gateway.To4() == nil
	case p.Source != nil:
		return p.Source.To4() == nil
	}
	return false
}

func decisionOf(cfg decision.Config, in decision.Input, notes []string) Decision {
	res := decision.Decide(cfg, in)
	echo := cfg // the flags doctor was given, mode spelled out
	if echo.Mode == "" {
		echo.Mode = decision.ModeAuto
	}
	return Decision{
		Mode: res.Mode, MTU: res.MTU, Rule: res.Rule, Overhead: res.Overhead,
		Segmentation: res.Segmentation, Nested: res.Nested,
		Reasons: append(res.Reasons, notes...),
		Config:  echo,
	}
}

// underlayCarries is the agent's rule 2 and 3 input
// (linux.UnderlayCarries) for --peer and --peer-pod-cidr.
func underlayCarries(o Options) (carries, byDefault bool, err error) {
	p, ok := netaddr.PrefixOf(o.PeerPodCIDR)
	if !ok {
		return false, false, fmt.Errorf("--peer-pod-cidr %s: not an address", o.PeerPodCIDR)
	}
	peer, ok := netip.AddrFromSlice(o.Peer)
	if !ok {
		return false, false, fmt.Errorf("--peer %s: not an address", o.Peer)
	}
	return linux.UnderlayCarries(o.NetNS, peer.Unmap(), p.Masked())
}
