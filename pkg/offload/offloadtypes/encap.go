package offloadtypes

// EncapKinds are the overlay tunnel kinds the datapath may use.
var EncapKinds = []string{"vxlan", "geneve"}

// EncapSupport is the probe result for one encapsulation kind.
type EncapSupport struct {
	Kind string `json:"kind"`
	OK   bool   `json:"ok"`
	// Error says why the kind is unusable (nil when OK).
	Error error `json:"-"`
}
