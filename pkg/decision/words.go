package decision

import (
	"fmt"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// Swap returns the same pair seen from the peer: what the peer's agent
// passes to Decide.
func Swap(in Input) Input {
	in.Local, in.Peer = in.Peer, in.Local
	return in
}

func peerName(in Input) string {
	if in.PeerNodeIP != "" {
		return "peer " + in.PeerNodeIP
	}
	return "the peer"
}

func peerIP(in Input) string {
	if in.PeerNodeIP != "" {
		return in.PeerNodeIP
	}
	return "the peer node"
}

func podCIDR(in Input) string {
	if in.PeerPodCIDR != "" {
		return "the peer's pod CIDR " + in.PeerPodCIDR
	}
	return "the peer's pod CIDR"
}

func featureFor(in Input) string {
	if in.IPv6Underlay {
		return offloadtypes.FeatUDPTunnelCsumSeg
	}
	return offloadtypes.FeatUDPTunnelSeg
}

func acrossL2Tunnel(in Input) string {
	if !hasTunnelUnderlay(in) {
		return ""
	}
	return " across the " + tunnelNames(in) + " L2 underlay"
}

// tunnelNames describes the tunnel underlays of both ends, e.g.
// "wireguard at wg0 on this node".
func tunnelNames(in Input) string {
	var parts []string
	if v := in.Local.Verdict; v.HasTunnelUnderlay() {
		parts = append(parts, describeTunnel(v)+" on this node")
	}
	if v := in.Peer.Verdict; v.HasTunnelUnderlay() {
		parts = append(parts, describeTunnel(v)+" on "+peerName(in))
	}
	return strings.Join(parts, ", ")
}

func describeTunnel(v offloadtypes.Verdict) string {
	if v.UnderlayTunnelDevice == "" {
		return v.UnderlayTunnel
	}
	return v.UnderlayTunnel + " at " + v.UnderlayTunnelDevice
}

// tunnelRemedies names, per end that does not deliver the other's pod
// CIDR natively, what makes it do so.
func tunnelRemedies(in Input) []string {
	var out []string
	cidr := in.PeerPodCIDR
	if cidr == "" {
		cidr = "<peer pod CIDR>"
	}
	switch v := in.Local.Verdict; {
	case delivers(in, in.Local, in.Peer):
	case v.HasTunnelUnderlay() && in.Local.UnderlayCarriesPeerPodCIDR:
		out = append(out, fmt.Sprintf("remedy: this node's routes send %s through %s on %s, which must route it on to %s: add pod CIDR routes there (the native probe then passes)",
			cidr, gatewayOf(in.Local), egressOr(in.Local, v.UnderlayTunnelDevice), peerIP(in)))
	case !v.HasTunnelUnderlay():
		out = append(out, fmt.Sprintf("remedy: this node reaches the peer without a tunnel (%s): let the underlay route pod CIDRs (--underlay-routes-pod-cidrs)", viaWords(in.Local)))
	case v.UnderlayTunnel == "wireguard":
		out = append(out, fmt.Sprintf("remedy: add %s to AllowedIPs of the %s peer for %s and route it via %s",
			cidr, v.UnderlayTunnelDevice, peerIP(in), v.UnderlayTunnelDevice))
	default:
		out = append(out, fmt.Sprintf("remedy: route %s via %s (ip route add %s %sdev %s)",
			cidr, v.UnderlayTunnelDevice, cidr, viaGateway(in.Local), egressOr(in.Local, v.UnderlayTunnelDevice)))
	}
	switch v := in.Peer.Verdict; {
	case delivers(in, in.Peer, in.Local):
	case v.HasTunnelUnderlay() && in.Peer.UnderlayCarriesPeerPodCIDR:
		out = append(out, fmt.Sprintf("remedy: %s's routes send this node's pod CIDR through %s on %s, which must route it on: add pod CIDR routes there (the native probe then passes)",
			peerName(in), gatewayOf(in.Peer), egressOr(in.Peer, v.UnderlayTunnelDevice)))
	case !v.HasTunnelUnderlay():
		out = append(out, fmt.Sprintf("remedy: %s reaches this node without a tunnel (%s): let the underlay route pod CIDRs (--underlay-routes-pod-cidrs)", peerName(in), viaWords(in.Peer)))
	default:
		out = append(out, fmt.Sprintf("remedy: on %s, route this node's pod CIDR through its %s underlay (%s)",
			peerName(in), v.UnderlayTunnel, v.UnderlayTunnelDevice))
	}
	return out
}

// egressNames says where rule 1 saw the pair on-link: from both ends'
// views, with their devices, or from this node's route alone.
func egressNames(in Input) string {
	if !in.Local.View.Known || !in.Peer.View.Known {
		return "is on-link (no gateway on the route)"
	}
	return fmt.Sprintf("is a direct neighbour from both ends (this node %s, %s %s)", viaWords(in.Local), peerName(in), viaWords(in.Peer))
}

// oneSided explains a pair one end sees on-link and the other not: a
// native route on the on-link end alone would send packets whose replies
// never come back.
func oneSided(in Input) []string {
	l, p := direct(in, in.Local, in.Peer), direct(in, in.Peer, in.Local)
	switch {
	case l && !p:
		return []string{fmt.Sprintf("this node reaches %s on-link (%s) but the peer reaches this node %s: both ends must route natively for native routing",
			peerName(in), viaWords(in.Local), viaWords(in.Peer))}
	case p && !l:
		return []string{fmt.Sprintf("%s reaches this node on-link (%s) but this node reaches it %s: both ends must route natively for native routing",
			peerName(in), viaWords(in.Peer), viaWords(in.Local))}
	}
	return nil
}

// deliveryNames says how each end routes the other's pod CIDR natively,
// when an end's view differs from "its tunnel carries it" ("" otherwise).
func deliveryNames(in Input) string {
	if !direct(in, in.Local, in.Peer) && !direct(in, in.Peer, in.Local) && !in.Local.NativeProbeOK && !in.Peer.NativeProbeOK {
		return ""
	}
	how := func(s, o Side) string {
		switch {
		case onLink(in, s):
			return "on-link"
		case gatewayIsOther(s, o):
			return "through the other end itself (" + s.View.Gateway + ")"
		case s.NativeProbeOK:
			return "native probe"
		}
		return "its routes through " + s.Verdict.UnderlayTunnelDevice
	}
	return fmt.Sprintf("each end routes the other's pod CIDR natively: this node %s, %s %s", how(in.Local, in.Peer), peerName(in), how(in.Peer, in.Local))
}

// viaWords describes an end's route to the other: "through 10.0.0.254 on
// eth0", "on-link on e1", or "through its gateway" without a view.
func viaWords(s Side) string {
	v := s.View
	switch {
	case !v.Known:
		return "through its route"
	case v.Gateway != "":
		return fmt.Sprintf("through %s on %s", v.Gateway, v.Egress)
	case v.OnLink:
		return "on-link on " + v.Egress
	}
	return "on " + v.Egress
}

// gatewayOf names an end's gateway for reasons.
func gatewayOf(s Side) string {
	if s.View.Known && s.View.Gateway != "" {
		return s.View.Gateway
	}
	return "its gateway"
}

func viaGateway(s Side) string {
	if s.View.Known && s.View.Gateway != "" {
		return "via " + s.View.Gateway + " "
	}
	return ""
}

func egressOr(s Side, dev string) string {
	if s.View.Known && s.View.Egress != "" {
		return s.View.Egress
	}
	return dev
}

func orVXLAN(kind Mode) Mode {
	if kind == "" {
		return ModeVXLAN
	}
	return kind
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// label is a mode as written in prose: "VXLAN", "Geneve".
func label(m Mode) string {
	switch m {
	case ModeVXLAN:
		return "VXLAN"
	case ModeGeneve:
		return "Geneve"
	}
	return string(m)
}
