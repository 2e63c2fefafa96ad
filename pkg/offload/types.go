package offload

import "github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"

// The facts this package concludes (verdicts, paths, devices, feature
// states, segmentation points, lab ratios) are defined in offloadtypes,
// which reads no kernel: the controller (pkg/agent), the decision and the
// published node facts use them without linking netlink. The names below
// keep this package's callers (doctor, the datapath, tests) unchanged.
type (
	Verdict           = offloadtypes.Verdict
	Path              = offloadtypes.Path
	Device            = offloadtypes.Device
	Relation          = offloadtypes.Relation
	FeatureState      = offloadtypes.FeatureState
	Features          = offloadtypes.Features
	Hop               = offloadtypes.Hop
	Egress            = offloadtypes.Egress
	Traffic           = offloadtypes.Traffic
	SegmentationPoint = offloadtypes.SegmentationPoint
	EncapSupport      = offloadtypes.EncapSupport
)

// Relations (offloadtypes.Relation).
const (
	RelEgress = offloadtypes.RelEgress
	RelMaster = offloadtypes.RelMaster
	RelPort   = offloadtypes.RelPort
	RelParent = offloadtypes.RelParent
	RelSlave  = offloadtypes.RelSlave
	RelLower  = offloadtypes.RelLower
)

// Feature names (offloadtypes.Feat*).
const (
	FeatUDPTunnelSeg     = offloadtypes.FeatUDPTunnelSeg
	FeatUDPTunnelCsumSeg = offloadtypes.FeatUDPTunnelCsumSeg
	FeatGRESeg           = offloadtypes.FeatGRESeg
	FeatGRECsumSeg       = offloadtypes.FeatGRECsumSeg
	FeatIPXIP4Seg        = offloadtypes.FeatIPXIP4Seg
	FeatIPXIP6Seg        = offloadtypes.FeatIPXIP6Seg
	FeatChecksumGeneric  = offloadtypes.FeatChecksumGeneric
	FeatTSO              = offloadtypes.FeatTSO
	FeatTSO6             = offloadtypes.FeatTSO6
	FeatGSO              = offloadtypes.FeatGSO
	FeatUSO              = offloadtypes.FeatUSO
	FeatGRO              = offloadtypes.FeatGRO
	FeatGROHW            = offloadtypes.FeatGROHW
	FeatLRO              = offloadtypes.FeatLRO
	FeatUDPGROForwarding = offloadtypes.FeatUDPGROForwarding
	FeatGROList          = offloadtypes.FeatGROList
)

// Traffic kinds and segmentation points (offloadtypes.SegmentationFor).
const (
	TrafficNative    = offloadtypes.TrafficNative
	TrafficVXLAN     = offloadtypes.TrafficVXLAN
	TrafficGeneve    = offloadtypes.TrafficGeneve
	WhereNIC         = offloadtypes.WhereNIC
	WherePassThrough = offloadtypes.WherePassThrough
	WhereSoftware    = offloadtypes.WhereSoftware
)

// Lab ratios quoted in reasons (offloadtypes.LabRatio*).
const (
	LabRatioVXLANOffloaded   = offloadtypes.LabRatioVXLANOffloaded
	LabRatioVXLANSoftware    = offloadtypes.LabRatioVXLANSoftware
	LabRatioNestedEncap      = offloadtypes.LabRatioNestedEncap
	LabRatioNativeOverTunnel = offloadtypes.LabRatioNativeOverTunnel
	LabRatioVXLANIPv6        = offloadtypes.LabRatioVXLANIPv6
)

var (
	// RelevantFeatures is offloadtypes.RelevantFeatures.
	RelevantFeatures = offloadtypes.RelevantFeatures
	// EncapKinds is offloadtypes.EncapKinds.
	EncapKinds = offloadtypes.EncapKinds
)

// VerdictOf is offloadtypes.VerdictOf.
func VerdictOf(p *Path) Verdict { return offloadtypes.VerdictOf(p) }
