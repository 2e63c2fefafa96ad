package decision

import (
	"fmt"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
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
		return offload.FeatUDPTunnelCsumSeg
	}
	return offload.FeatUDPTunnelSeg
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

func describeTunnel(v offload.Verdict) string {
	if v.UnderlayTunnelDevice == "" {
		return v.UnderlayTunnel
	}
	return v.UnderlayTunnel + " at " + v.UnderlayTunnelDevice
}

// tunnelRemedies names, per end, what makes its tunnel underlay carry the
// other end's pod CIDR.
func tunnelRemedies(in Input) []string {
	var out []string
	cidr := in.PeerPodCIDR
	if cidr == "" {
		cidr = "<peer pod CIDR>"
	}
	switch v := in.Local.Verdict; {
	case !v.HasTunnelUnderlay():
		out = append(out, "remedy: this node reaches the peer without a tunnel: let the underlay route pod CIDRs (--underlay-routes-pod-cidrs)")
	case in.Local.UnderlayCarriesPeerPodCIDR:
	case v.UnderlayTunnel == "wireguard":
		out = append(out, fmt.Sprintf("remedy: add %s to AllowedIPs of the %s peer for %s and route it via %s",
			cidr, v.UnderlayTunnelDevice, peerIP(in), v.UnderlayTunnelDevice))
	default:
		out = append(out, fmt.Sprintf("remedy: route %s via %s (ip route add %s dev %s)",
			cidr, v.UnderlayTunnelDevice, cidr, v.UnderlayTunnelDevice))
	}
	switch v := in.Peer.Verdict; {
	case !v.HasTunnelUnderlay():
		out = append(out, fmt.Sprintf("remedy: %s reaches this node without a tunnel: let the underlay route pod CIDRs (--underlay-routes-pod-cidrs)", peerName(in)))
	case in.Peer.UnderlayCarriesPeerPodCIDR:
	default:
		out = append(out, fmt.Sprintf("remedy: on %s, route this node's pod CIDR through its %s underlay (%s)",
			peerName(in), v.UnderlayTunnel, v.UnderlayTunnelDevice))
	}
	return out
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
