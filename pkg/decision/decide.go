package decision

import (
	"fmt"
	"slices"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// Where super-packets are cut (Result.Segmentation).
const (
	SegNIC      = "nic"      // by the uplink's hardware or a pass-through device (veth)
	SegSoftware = "software" // by GSO in the kernel before the uplink
)

// Decide chooses the datapath for one pair. It is a pure function of the
// operator's Config and both nodes' published facts, and it is symmetric:
// Decide(cfg, Swap(in)).Mode == Decide(cfg, in).Mode, so both ends pick the
// same datapath (an asymmetric pair breaks rp_filter and conntrack).
func Decide(cfg Config, in Input) Result {
	switch cfg.Mode {
	case ModeAuto, "":
		return decideAuto(cfg, in)
	case ModeNative:
		return forcedNative(cfg, in)
	case ModeVXLAN, ModeGeneve:
		return forcedEncap(cfg, in, cfg.Mode)
	}
	return unreachable(0, fmt.Sprintf("unknown mode %q (want auto, vxlan, geneve or native)", cfg.Mode))
}

// decideAuto applies the rules in order: connectivity first, then speed,
// never two tunnel levels. Every condition combines both ends' views the
// same way, so both ends pick the same path, or both none.
func decideAuto(cfg Config, in Input) Result {
	// Rule 1: each end on the same L2 as the other (also across an L2
	// tunnel underlay), or its next hop is the other end itself: plain
	// routing to the node IPs.
	if direct(in, in.Local, in.Peer) && direct(in, in.Peer, in.Local) {
		r := native(1, in)
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s %s%s: native routing, no encapsulation, full MTU %d",
			peerName(in), egressNames(in), acrossL2Tunnel(in), r.MTU))
		return r
	}
	// Rule 2: each end reaches the other's pods natively: on-link, or the
	// underlay routes pod CIDRs (operator flag, native probe).
	if why, ok := nativeRoutable(cfg, in); ok {
		r := native(2, in)
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s is off-link but %s: native routing via the underlay next hop, full MTU %d",
			peerName(in), why, r.MTU))
		return r
	}
	// Rule 3: a path is itself a tunnel: never add a second level.
	kind, reasons := encapKind(cfg, in)
	reasons = append(oneSided(in), reasons...)
	if hasTunnelUnderlay(in) {
		return overTunnel(cfg, in, kind, reasons)
	}
	// Rules 4 and 5: one overlay level, in hardware if both ends can.
	if kind == "" {
		return unreachable(4, reasons...)
	}
	r := encap(in, kind, 4)
	r.Reasons = append(reasons, r.Reasons...)
	if r.Segmentation == SegSoftware {
		r.Rule = 5
	}
	return r
}

// overTunnel is rule 3: native over the tunnel underlay when each end
// delivers the other's pod CIDR (on-link, its tunnel's routes carry it, or
// its native probe), otherwise unreachable (or nested with
// allowNestedEncap).
func overTunnel(cfg Config, in Input, kind Mode, kindReasons []string) Result {
	if delivers(in, in.Local, in.Peer) && delivers(in, in.Peer, in.Local) {
		r := native(3, in)
		r.Reasons = append(r.Reasons, fmt.Sprintf("the underlay is a tunnel (%s) that carries %s: native routing over it, no second tunnel level (%.2fx native in the lab)",
			tunnelNames(in), podCIDR(in), offloadtypes.LabRatioNativeOverTunnel))
		if d := deliveryNames(in); d != "" {
			r.Reasons = append(r.Reasons, d)
		}
		return r
	}
	if cfg.AllowNestedEncap && kind != "" {
		r := nested(in, kind, 3)
		r.Reasons = append(kindReasons, r.Reasons...)
		return r
	}
	reasons := append(kindReasons, fmt.Sprintf("the underlay is a tunnel (%s) that does not carry the pod CIDRs both ways, and a %s overlay on top would nest two tunnel levels (%.2fx native in the lab)",
		tunnelNames(in), label(orVXLAN(kind)), offloadtypes.LabRatioNestedEncap))
	reasons = append(reasons, tunnelRemedies(in)...)
	reasons = append(reasons, "or run the agent with --allow-nested-encap (OFFLOAD_OVERLAY_ALLOW_NESTED_ENCAP=true) to accept the nested tunnel (slow)")
	return unreachable(3, reasons...)
}

// forcedNative does what it says; it warns when nothing shows the pod CIDRs
// are routable.
func forcedNative(cfg Config, in Input) Result {
	r := native(0, in)
	r.Reasons = append(r.Reasons, fmt.Sprintf("mode native (forced): no encapsulation towards %s, full MTU %d", peerName(in), r.MTU))
	_, routable := nativeRoutable(cfg, in)
	if !routable && !(delivers(in, in.Local, in.Peer) && delivers(in, in.Peer, in.Local)) {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s is off-link and nothing shows the underlay routes %s: pods reach it only if the gateway routes pod CIDRs",
			peerName(in), podCIDR(in)))
	}
	return r
}

// forcedEncap uses the requested tunnel or fails loudly: a kernel without it
// or a tunnel underlay without allowNestedEncap makes the peer unreachable.
func forcedEncap(cfg Config, in Input, kind Mode) Result {
	if missing := lacking(in, kind); len(missing) > 0 {
		return unreachable(0, fmt.Sprintf("mode %s (forced) but %s cannot create %s devices (Unknown device type); use mode auto or vxlan", kind, joinAnd(missing), kind))
	}
	if hasTunnelUnderlay(in) {
		if !cfg.AllowNestedEncap {
			reasons := []string{fmt.Sprintf("mode %s (forced) would nest inside the tunnel underlay (%s): two tunnel levels (%.2fx native in the lab)",
				kind, tunnelNames(in), offloadtypes.LabRatioNestedEncap),
				"run the agent with --allow-nested-encap (OFFLOAD_OVERLAY_ALLOW_NESTED_ENCAP=true) to accept it, or use --mode auto or native to route over the tunnel"}
			return unreachable(0, reasons...)
		}
		r := nested(in, kind, 0)
		r.Reasons = append([]string{fmt.Sprintf("mode %s (forced)", kind)}, r.Reasons...)
		return r
	}
	r := encap(in, kind, 0)
	r.Reasons = append([]string{fmt.Sprintf("mode %s (forced)", kind)}, r.Reasons...)
	return r
}

// encap is one tunnel level over a plain underlay, segmented by the NIC when
// both ends' paths segment UDP tunnels, in software otherwise.
func encap(in Input, kind Mode, rule int) Result {
	r := Result{Mode: kind, Rule: rule, Overhead: Overhead(kind, in.IPv6Underlay)}
	r.MTU = pairMTU(in) - r.Overhead
	ratio := offloadtypes.LabRatioVXLANOffloaded
	if in.IPv6Underlay {
		ratio = offloadtypes.LabRatioVXLANIPv6
	}
	mtu := fmt.Sprintf("pod MTU %d = uplink MTU %d - %d (%s)", r.MTU, pairMTU(in), r.Overhead, overheadBreakdown(kind, in.IPv6Underlay))
	weak := blockers(in)
	if len(weak) == 0 {
		r.Segmentation = SegNIC
		r.Reasons = append(r.Reasons, fmt.Sprintf("both ends segment UDP tunnels (%s on every device of the path): one %s level, super-packets reach the wire whole, GRO on (%.2fx native in the lab)",
			featureFor(in), label(kind), ratio), mtu)
		return r
	}
	r.Segmentation = SegSoftware
	r.Reasons = append(r.Reasons,
		fmt.Sprintf("one %s level segmented in software before the uplink, connectivity before speed (%.2fx native in the lab): %s",
			label(kind), offloadtypes.LabRatioVXLANSoftware, strings.Join(weak, "; ")),
		mtu,
		fmt.Sprintf("remedy: put %s on the same L2 as this node (rule 1 picks native), or let the underlay route pod CIDRs (announce them over BGP with --bgp-as and --bgp-peer, or --underlay-routes-pod-cidrs for a cloud route table) so rule 2 picks native",
			peerName(in)))
	if who := bgpAnnouncers(in); who != "" {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%s announced over BGP but the native probes did not both pass: the fabric does not route them yet (router filter, other VRF or session down); VXLAN until they do", who))
	}
	return r
}

// nested is an overlay tunnel inside a tunnel underlay (allowNestedEncap):
// the underlay device never segments tunnels, so super-packets are cut in
// software before the second encapsulation.
func nested(in Input, kind Mode, rule int) Result {
	r := Result{Mode: kind, Rule: rule, Overhead: Overhead(kind, in.IPv6Underlay), Nested: true, Segmentation: SegSoftware}
	r.MTU = pairMTU(in) - r.Overhead
	r.Reasons = []string{
		fmt.Sprintf("--allow-nested-encap: %s inside the tunnel underlay (%s): super-packets are cut in software before the second encapsulation (%.2fx native in the lab)",
			label(kind), tunnelNames(in), offloadtypes.LabRatioNestedEncap),
		fmt.Sprintf("pod MTU %d = underlay MTU %d - %d (%s)", r.MTU, pairMTU(in), r.Overhead, overheadBreakdown(kind, in.IPv6Underlay)),
		fmt.Sprintf("remedy: route the pod CIDRs over the tunnel underlay instead (rule 3 then picks native over it, %.2fx native in the lab)",
			offloadtypes.LabRatioNativeOverTunnel),
	}
	return r
}

func native(rule int, in Input) Result {
	return Result{Mode: ModeNative, Rule: rule, MTU: pairMTU(in), Segmentation: SegNIC}
}

func unreachable(rule int, reasons ...string) Result {
	return Result{Mode: ModeUnreachable, Rule: rule, Reasons: reasons}
}

// nativeRoutable is rule 2's condition: the operator vouches for the
// underlay, or each end is on-link or its native probe reached the other's
// pod CIDR (an on-link end routes straight to the node IP and runs no
// probe).
func nativeRoutable(cfg Config, in Input) (string, bool) {
	switch {
	case cfg.UnderlayRoutesPodCIDRs:
		return "the underlay routes pod CIDRs (--underlay-routes-pod-cidrs)", true
	case in.Local.NativeProbeOK && in.Peer.NativeProbeOK:
		if who := bgpAnnouncers(in); who != "" {
			return who + " announced over BGP, probe verified (both nodes reached each other's pod CIDR natively)", true
		}
		return "both nodes reached each other's pod CIDR natively (native probe)", true
	case onLink(in, in.Local) && in.Peer.NativeProbeOK:
		return fmt.Sprintf("this node reaches it on-link and its native probe reached this node's pod CIDR through %s", gatewayOf(in.Peer)), true
	case onLink(in, in.Peer) && in.Local.NativeProbeOK:
		return fmt.Sprintf("it reaches this node on-link and this node's native probe reached %s through %s", podCIDR(in), gatewayOf(in.Local)), true
	}
	return "", false
}

// bgpAnnouncers names whose pod CIDRs BGP announced ("" for nobody); the
// same words from both ends, so a pair's two reasons agree.
func bgpAnnouncers(in Input) string {
	switch {
	case in.Local.BGPAnnounced && in.Peer.BGPAnnounced:
		return "both pod CIDRs"
	case in.Local.BGPAnnounced || in.Peer.BGPAnnounced:
		return "one end's pod CIDR"
	}
	return ""
}

// onLink is s's view of the pair: its published View, else (an agent that
// publishes none) the local route's on-link bit, as before views existed.
func onLink(in Input, s Side) bool {
	if s.View.Known {
		return s.View.OnLink
	}
	return in.OnLink
}

// delivers reports whether s gets pod packets to the other end natively:
// on-link, through its tunnel underlay whose routes carry the other's pod
// CIDR, or through an underlay its native probe crossed.
func delivers(in Input, s, o Side) bool {
	return onLink(in, s) || s.NativeProbeOK || tunnelCarries(s) || gatewayIsOther(s, o)
}

// tunnelCarries: s's path is a tunnel whose routes carry the other's pod
// CIDR: a route naming the pod CIDR (the operator routed pods into the
// tunnel), or a default route to the tunnel's far end itself (no gateway:
// a point-to-point L3 tunnel such as WireGuard). A default route through a
// gateway (a router or hub beyond the tunnel) proves nothing about the
// gateway's own routes: the native probe must (such a route to a router
// without pod routes black-holes pod traffic). An end that publishes no
// view is trusted as before views existed.
func tunnelCarries(s Side) bool {
	return s.Verdict.HasTunnelUnderlay() && s.UnderlayCarriesPeerPodCIDR && (!s.View.Known || s.View.Gateway == "" || !s.CarriedByDefault)
}

// direct: s reaches the other end without a router in between: on-link,
// or its next hop is the other end itself.
func direct(in Input, s, o Side) bool { return onLink(in, s) || gatewayIsOther(s, o) }

// gatewayIsOther: s's gateway is the address o sends from towards s, so
// s's next hop is o itself (an edge whose tunnel's far end is the hub).
func gatewayIsOther(s, o Side) bool {
	return s.View.Known && o.View.Known && s.View.Gateway != "" && s.View.Gateway == o.View.Source
}

// pairMTU is the smaller of both ends' egress MTUs towards each other (an
// end that published none counts as equal): what a pod packet can carry
// both ways.
func pairMTU(in Input) int {
	if p := in.Peer.UplinkMTU; p > 0 && p < in.Local.UplinkMTU {
		return p
	}
	return in.Local.UplinkMTU
}

func hasTunnelUnderlay(in Input) bool {
	return in.Local.Verdict.HasTunnelUnderlay() || in.Peer.Verdict.HasTunnelUnderlay()
}

// encapKind is the tunnel auto uses: cfg.Encap (VXLAN by default) when both
// kernels can create it, else VXLAN with a reason, else "".
func encapKind(cfg Config, in Input) (Mode, []string) {
	want := cfg.Encap
	if want == "" || want == ModeAuto {
		want = ModeVXLAN
	}
	var reasons []string
	if want != ModeVXLAN {
		missing := lacking(in, want)
		if len(missing) == 0 {
			return want, nil
		}
		reasons = append(reasons, fmt.Sprintf("%s requested but %s cannot create %s devices (Unknown device type): falling back to VXLAN", want, joinAnd(missing), want))
	}
	if missing := lacking(in, ModeVXLAN); len(missing) > 0 {
		return "", append(reasons, fmt.Sprintf("%s cannot create vxlan devices: no overlay possible", joinAnd(missing)))
	}
	return ModeVXLAN, reasons
}

// lacking names the ends whose kernel cannot create kind. An empty Encaps
// list (facts from before the probe) counts as VXLAN only.
func lacking(in Input, kind Mode) []string {
	var out []string
	if !supports(in.Local, kind) {
		out = append(out, "this node's kernel")
	}
	if !supports(in.Peer, kind) {
		out = append(out, fmt.Sprintf("%s's kernel", peerName(in)))
	}
	return out
}

func supports(s Side, kind Mode) bool {
	if len(s.Encaps) == 0 {
		return kind == ModeVXLAN
	}
	return slices.Contains(s.Encaps, string(kind))
}

// blockers names, per end, the device that lacks tunnel segmentation.
func blockers(in Input) []string {
	var out []string
	if !in.Local.Verdict.Capable(in.IPv6Underlay) {
		out = append(out, "this node lacks it at "+in.Local.Verdict.WeakestLink())
	}
	if !in.Peer.Verdict.Capable(in.IPv6Underlay) {
		out = append(out, fmt.Sprintf("%s lacks it at %s", peerName(in), in.Peer.Verdict.WeakestLink()))
	}
	return out
}
