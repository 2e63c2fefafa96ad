package offloadtypes

// Feature names as the kernel spells them (ETH_SS_FEATURES strings, what
// `ethtool -k` prints on its indented lines).
const (
	FeatUDPTunnelSeg     = "tx-udp_tnl-segmentation"      // VXLAN, Geneve, ... super-packets cut by the device
	FeatUDPTunnelCsumSeg = "tx-udp_tnl-csum-segmentation" // same, with the outer UDP checksum set
	FeatGRESeg           = "tx-gre-segmentation"
	FeatGRECsumSeg       = "tx-gre-csum-segmentation"
	FeatIPXIP4Seg        = "tx-ipxip4-segmentation"
	FeatIPXIP6Seg        = "tx-ipxip6-segmentation"
	FeatChecksumGeneric  = "tx-checksum-ip-generic"
	FeatTSO              = "tx-tcp-segmentation"
	FeatTSO6             = "tx-tcp6-segmentation"
	FeatGSO              = "tx-generic-segmentation"
	FeatUSO              = "tx-udp-segmentation"
	FeatGRO              = "rx-gro"
	FeatGROHW            = "rx-gro-hw"
	FeatLRO              = "rx-lro"
	FeatUDPGROForwarding = "rx-udp-gro-forwarding"
	FeatGROList          = "rx-gro-list"
)

// RelevantFeatures are the features doctor shows, in display order: the
// tunnel segmentation bits first, then TCP segmentation and receive offloads.
var RelevantFeatures = []string{
	FeatUDPTunnelSeg, FeatUDPTunnelCsumSeg,
	FeatGRESeg, FeatGRECsumSeg, FeatIPXIP4Seg, FeatIPXIP6Seg,
	FeatChecksumGeneric, FeatTSO, FeatTSO6, FeatGSO, FeatUSO,
	FeatGRO, FeatGROHW, FeatLRO, FeatUDPGROForwarding, FeatGROList,
}

// FeatureState is one ethtool feature of one device, with the four bits the
// kernel keeps for it (ETHTOOL_GFEATURES).
type FeatureState struct {
	// Available: the feature can be changed (it is in hw_features).
	Available bool `json:"available"`
	// Requested: what the user (or the driver's default) asked for.
	Requested bool `json:"requested"`
	// Active: what the device does now; this is what the stack checks.
	Active bool `json:"active"`
	// Fixed: cannot be changed (not available, or never changeable).
	// "off [fixed]" means the device does not support the feature.
	Fixed bool `json:"fixed"`
}

// String renders the state in ethtool's own words: "on", "off",
// "on [fixed]", "off [fixed]", "off [requested on]", "on [requested off]".
// Equivalent to one line of `ethtool -k DEV`.
func (s FeatureState) String() string {
	w := "off"
	if s.Active {
		w = "on"
	}
	switch {
	case s.Fixed:
		return w + " [fixed]"
	case s.Requested != s.Active && s.Requested:
		return w + " [requested on]"
	case s.Requested != s.Active:
		return w + " [requested off]"
	}
	return w
}

// Features maps a kernel feature name to its state.
type Features map[string]FeatureState

// On reports whether feature name is active; a feature the device does not
// list at all is off.
func (f Features) On(name string) bool { return f[name].Active }

// Word is the ethtool word for feature name, "off [fixed]" when unlisted.
func (f Features) Word(name string) string {
	s, ok := f[name]
	if !ok {
		return FeatureState{Fixed: true}.String()
	}
	return s.String()
}

// Relevant returns the ethtool words of the RelevantFeatures the device lists.
func (f Features) Relevant() map[string]string {
	out := make(map[string]string, len(RelevantFeatures))
	for _, n := range RelevantFeatures {
		if _, ok := f[n]; ok {
			out[n] = f.Word(n)
		}
	}
	return out
}
