package agent

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/mtu"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
)

// DecideFunc is the per-pair decision (decision.Decide).
type DecideFunc func(decision.Config, decision.Input) decision.Result

// view is everything a converge computes from the informer's nodes.
type view struct {
	paths   []datapath.Path
	probes  []probeTarget
	ignored []admission.Ignored
	podMTU  int
	allNat  bool
	modes   map[string]int
}

// probeTarget is one off-link peer family the native probe checks.
type probeTarget struct {
	peer     string
	src, dst netip.Addr // our and the peer's pod-CIDR gateway addresses
	gw       netip.Addr
	devIndex int
}

// sideOf is one node's half of the decision input, as seen by the other:
// its published facts, with its published view of the other for family
// (the route to the other's node IP, the walk and MTU on that route) where
// it has one.
func sideOf(f nodeinfo.Facts, other string, family int) decision.Side {
	s := decision.Side{
		Verdict:                    f.Verdict,
		Encaps:                     f.Encaps,
		UplinkMTU:                  f.UplinkMTU,
		NativeProbeOK:              f.NativeProbe[other],
		UnderlayCarriesPeerPodCIDR: f.UnderlayRoutes[other],
		CarriedByDefault:           f.UnderlayDefault[other],
		BGPAnnounced:               f.BGP,
	}
	if v, ok := f.PeerView(other, family); ok {
		s.View, s.Verdict, s.UplinkMTU = v.Decision(), v.Verdict, v.MTU
	}
	return s
}

// viewOf is this node's view of a peer as published: the route to its
// node IP and what lies below it.
func viewOf(rt datapath.Route) nodeinfo.EgressView {
	v := nodeinfo.EgressView{Device: rt.Device, Kind: rt.Kind, OnLink: rt.OnLink, MTU: rt.MTU, Verdict: rt.Verdict}
	v.Verdict.Reasons = nil
	if rt.Gateway.IsValid() {
		v.Gateway = rt.Gateway.String()
	}
	if rt.Source.IsValid() {
		v.Source = rt.Source.String()
	}
	return v
}

// computePaths runs the decision for every peer and family. Both ends build
// the same Input from the two published annotations (local facts are the
// ones we publish), so both compute the same mode.
func (a *Agent) computePaths(local datapath.LocalNode, lf nodeinfo.Facts, up datapath.Uplink, peers []admission.Peer, routeTo func(netip.Addr) (datapath.Route, error)) view {
	a.views = nodeinfo.Facts{}
	v := view{modes: map[string]int{}, allNat: true}
	for _, p := range peers {
		for _, fam := range []int{4, 6} {
			path, probe, err := a.pathFor(local, lf, up, p, fam, routeTo)
			if err != nil {
				v.ignored = append(v.ignored, admission.Ignored{Name: p.Name, Reason: err.Error()})
				continue
			}
			if !path.PodCIDR.IsValid() {
				continue // the peer has no pod CIDR of this family
			}
			if probe != nil {
				v.probes = append(v.probes, *probe)
			}
			v.paths = append(v.paths, path)
		}
	}
	sort.Slice(v.paths, func(i, j int) bool {
		if v.paths[i].Peer != v.paths[j].Peer {
			return v.paths[i].Peer < v.paths[j].Peer
		}
		return v.paths[i].Family < v.paths[j].Family
	})
	a.decisions.prune()
	// Our views of the peers are published with our facts (the peers
	// decide from both views).
	a.views.SortViews()
	a.facts.Egresses, a.facts.PeerEgress = a.views.Egresses, a.views.PeerEgress
	v.podMTU, v.allNat = a.podMTU(local, lf, up, v.paths)
	for _, p := range v.paths {
		v.modes[string(p.Mode)]++
	}
	return v
}

func (a *Agent) pathFor(local datapath.LocalNode, lf nodeinfo.Facts, up datapath.Uplink, p admission.Peer, fam int, routeTo func(netip.Addr) (datapath.Route, error)) (datapath.Path, *probeTarget, error) {
	cidr, ok := netaddr.PickPrefix(p.PodCIDRs, fam)
	if !ok {
		return datapath.Path{}, nil, nil
	}
	localIP, ok := local.IP(fam)
	peerIP := p.IPs[netaddr.Index(cidr.Addr())]
	if !ok || !peerIP.IsValid() {
		return datapath.Path{}, nil, fmt.Errorf("pod CIDR %s: no IPv%d endpoint on both nodes (this node %v, peer %v)", cidr, fam, localIP, peerIP)
	}
	rt, err := routeTo(peerIP)
	if err != nil {
		return datapath.Path{}, nil, fmt.Errorf("no route to peer node IP %s: %w", peerIP, err)
	}
	if rt.MTU == 0 {
		rt.MTU = up.MTU // a route whose devices were not read
	}
	view := viewOf(rt)
	a.views.SetPeerView(p.Name, fam, view)
	in := decision.Input{
		Local:        sideOf(lf, p.Name, fam),
		Peer:         sideOf(p.Facts, local.Name, fam),
		OnLink:       rt.OnLink,
		IPv6Underlay: fam == 6,
		PeerPodCIDR:  cidr.String(),
		PeerNodeIP:   peerIP.String(),
	}
	// Our side is what our kernel does now: the route to this peer, the
	// walk and MTU below it (published with our facts for the peer).
	in.Local.View, in.Local.Verdict, in.Local.UplinkMTU = view.Decision(), view.Verdict, view.MTU
	res := a.decisions.decide(decisionKey{peer: p.Name, rv: p.RV, fam: fam, route: rt.Sig(),
		probe: in.Local.NativeProbeOK, underlay: in.Local.UnderlayCarriesPeerPodCIDR, gen: a.factsGen}, in,
		func(in decision.Input) decision.Result { return a.decide(a.cfg.Decision, in) })
	path := datapath.Path{Peer: p.Name, Family: fam, PodCIDR: cidr, PeerIP: peerIP, PeerMAC: p.MACs[netaddr.Index(peerIP)],
		Mode: res.Mode, DevIndex: rt.DeviceIndex, Reasons: res.Reasons, MTU: res.MTU, Rule: res.Rule, OnLink: rt.OnLink}
	if res.Mode == decision.ModeNative && !rt.OnLink {
		path.Via = rt.Gateway
	}
	if (res.Mode == decision.ModeVXLAN || res.Mode == decision.ModeGeneve) && path.PeerMAC == nil {
		return datapath.Path{}, nil, fmt.Errorf("mode %s needs the peer's VTEP MAC for %s, the annotation has none", res.Mode, peerIP)
	}
	probe := a.probeFor(local, rt, cidr, fam)
	if probe != nil {
		probe.peer = p.Name
	}
	return path, probe, nil
}

// probeFor returns the native probe of an off-link peer, when rule 2 could
// choose native and the operator has not already vouched for the underlay.
func (a *Agent) probeFor(local datapath.LocalNode, rt datapath.Route, peerCIDR netip.Prefix, fam int) *probeTarget {
	if rt.OnLink || !rt.Gateway.IsValid() || a.cfg.Decision.UnderlayRoutesPodCIDRs {
		return nil
	}
	if m := a.cfg.Decision.Mode; m != decision.ModeAuto && m != decision.ModeNative {
		return nil
	}
	own, ok := local.PodCIDR(fam)
	if !ok {
		return nil
	}
	return &probeTarget{src: netaddr.Gateway(own), dst: netaddr.Gateway(peerCIDR), gw: rt.Gateway, devIndex: rt.DeviceIndex}
}

// podMTU is the smallest MTU over the paths in use; with no peer yet, the
// MTU the decision would give an off-link peer of this node's own kind, so
// pods created before the first peer appears do not need a smaller MTU later.
func (a *Agent) podMTU(local datapath.LocalNode, lf nodeinfo.Facts, up datapath.Uplink, paths []datapath.Path) (int, bool) {
	in := make([]mtu.Path, len(paths))
	for i, p := range paths {
		in[i] = mtu.Path{MTU: p.MTU, Reachable: p.Mode != decision.ModeUnreachable, Native: p.Mode == decision.ModeNative}
	}
	if m, allNative, ok := mtu.PodMTU(in); ok {
		return m, allNative
	}
	self := sideOf(lf, local.Name, 0)
	self.UplinkMTU = up.MTU
	// Dual-stack: IPv6 paths will carry the larger (IPv6 outer) overhead.
	_, hasIP6 := local.IP(6)
	_, hasCIDR6 := local.PodCIDR(6)
	v6 := hasIP6 && hasCIDR6
	res := a.decide(a.cfg.Decision, decision.Input{Local: self, Peer: self, IPv6Underlay: v6})
	if res.MTU <= 0 {
		return up.MTU, false
	}
	return res.MTU, res.Mode == decision.ModeNative
}

// decisionKey is everything a pair's decision depends on besides the
// configuration: the peer's Node version (its annotation), our own facts
// generation, the route to the peer and our per-peer probe and underlay
// results. An unchanged key reuses the previous result, so a converge after
// one Node change decides one pair, not all of them.
type decisionKey struct {
	peer, rv        string
	fam             int
	route           string // datapath.Route.Sig
	probe, underlay bool
	gen             int
}
