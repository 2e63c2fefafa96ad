package offloadtypes

// Verdict is what the offload inspection concludes about one node's egress
// path: can this node hand a whole UDP-tunnel super-packet to the hardware
// (or to a pass-through device such as veth) for segmentation, and is the
// underlay itself a tunnel. Nodes publish it so that both ends of a pair
// can compute the same datapath (see package decision).
type Verdict struct {
	// TunnelSegmentation is true when tx-udp_tnl-segmentation is active on
	// the egress device and on every device below it.
	TunnelSegmentation bool `json:"tunnelSegmentation"`
	// TunnelSegmentationCsum is the same for tx-udp_tnl-csum-segmentation
	// (needed when the outer UDP checksum is set, e.g. IPv6 outer headers).
	TunnelSegmentationCsum bool `json:"tunnelSegmentationCsum"`
	// UnderlayTunnel is the tunnel kind found on the path ("vxlan",
	// "geneve", "wireguard", "tun", "ipip", "gre", ...) or "" for none.
	UnderlayTunnel string `json:"underlayTunnel"`
	// UnderlayTunnelDevice names the device that is a tunnel, if any.
	UnderlayTunnelDevice string `json:"underlayTunnelDevice,omitempty"`
	// Blocker names the first device on the path without tunnel
	// segmentation and the feature's state, e.g.
	// "eth0 (virtio_net): tx-udp_tnl-segmentation off [fixed]".
	Blocker string `json:"blocker,omitempty"`
	// Reasons are human-readable facts behind the verdict, e.g.
	// "eth0 (virtio_net): tx-udp_tnl-segmentation off [fixed]: VXLAN would be
	// segmented in software before the NIC".
	Reasons []string `json:"reasons,omitempty"`
}
