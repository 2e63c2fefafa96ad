package offloadtypes

import (
	"fmt"
	"strings"
)

// Lab figures (docs: kernel-lab.md), pod-to-pod TCP throughput relative to
// native routing over the same veth underlay, used in reasons.
const (
	LabRatioVXLANOffloaded   = 0.80 // one VXLAN level, uplink with tunnel segmentation
	LabRatioVXLANSoftware    = 0.30 // one VXLAN level segmented in software (virtio-like uplink)
	LabRatioNestedEncap      = 0.20 // VXLAN inside VXLAN
	LabRatioNativeOverTunnel = 0.78 // native routing over a VXLAN underlay
	LabRatioVXLANIPv6        = 0.78 // one VXLAN level, IPv6 outer header
)

// VerdictOf concludes, from the devices on the path, whether a UDP tunnel
// super-packet reaches the wire whole (every device segments UDP tunnels or
// passes them on) and whether the underlay is itself a tunnel.
func VerdictOf(p *Path) Verdict {
	v := Verdict{TunnelSegmentation: len(p.Devices) > 0, TunnelSegmentationCsum: len(p.Devices) > 0}
	for _, d := range p.Devices {
		if d.Tunnel != "" && v.UnderlayTunnel == "" {
			v.UnderlayTunnel, v.UnderlayTunnelDevice = d.Tunnel, d.Name
			v.Reasons = append(v.Reasons, fmt.Sprintf(
				"%s: the underlay is a %s tunnel: an overlay tunnel on top would nest two levels "+
					"(%.2fx native in the lab); native routing over it runs at %.2fx",
				d.Label(), d.Tunnel, LabRatioNestedEncap, LabRatioNativeOverTunnel))
		}
		if d.FeatureError != "" {
			v.Reasons = append(v.Reasons, fmt.Sprintf("%s: features unreadable (%s): counted as lacking tunnel segmentation", d.Label(), d.FeatureError))
		}
		if !d.Features.On(FeatUDPTunnelSeg) {
			if v.TunnelSegmentation {
				v.Blocker = d.Label() + ": " + FeatUDPTunnelSeg + " " + d.Features.Word(FeatUDPTunnelSeg)
			}
			v.TunnelSegmentation = false
			if d.Tunnel == "" {
				v.Reasons = append(v.Reasons, fmt.Sprintf("%s: %s %s: VXLAN would be segmented in software before the NIC (%.2fx native in the lab)",
					d.Label(), FeatUDPTunnelSeg, d.Features.Word(FeatUDPTunnelSeg), LabRatioVXLANSoftware))
			}
		}
		if !d.Features.On(FeatUDPTunnelCsumSeg) {
			if v.TunnelSegmentationCsum && v.TunnelSegmentation && d.Tunnel == "" {
				v.Reasons = append(v.Reasons, fmt.Sprintf("%s: %s %s: VXLAN with an outer UDP checksum (IPv6 outer) would be segmented in software",
					d.Label(), FeatUDPTunnelCsumSeg, d.Features.Word(FeatUDPTunnelCsumSeg)))
			}
			v.TunnelSegmentationCsum = false
		}
	}
	if v.TunnelSegmentation {
		v.Reasons = append(v.Reasons, fmt.Sprintf("every device on the path (%s) has %s on: VXLAN super-packets reach the wire whole",
			strings.Join(p.deviceLabels(), ", "), FeatUDPTunnelSeg))
	}
	return v
}

func (p *Path) deviceLabels() []string {
	out := make([]string, len(p.Devices))
	for i, d := range p.Devices {
		out[i] = d.Label()
	}
	return out
}

// Verdict is shorthand for VerdictOf(p).
func (p *Path) Verdict() Verdict { return VerdictOf(p) }

// Capable reports whether UDP tunnel super-packets reach the wire whole for
// the given outer family (IPv6 outer headers carry a UDP checksum).
func (v Verdict) Capable(ipv6Outer bool) bool {
	if ipv6Outer {
		return v.TunnelSegmentationCsum
	}
	return v.TunnelSegmentation
}

// HasTunnelUnderlay reports whether the egress path is itself a tunnel.
func (v Verdict) HasTunnelUnderlay() bool { return v.UnderlayTunnel != "" }

// WeakestLink names the first device that lacks tunnel segmentation, or
// "the path" when the verdict does not say.
func (v Verdict) WeakestLink() string {
	if v.Blocker != "" {
		return v.Blocker
	}
	if v.UnderlayTunnelDevice != "" {
		return v.UnderlayTunnelDevice + " (" + v.UnderlayTunnel + ")"
	}
	return "the uplink: " + FeatUDPTunnelSeg + " off"
}
