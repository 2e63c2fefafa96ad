package offloadtypes

// Relation says how a device was reached from the egress device.
type Relation string

const (
	RelEgress Relation = "egress" // the route's output device
	RelMaster Relation = "master" // a VRF the previous device is enslaved to
	RelPort   Relation = "port"   // a bridge port
	RelParent Relation = "parent" // the lower device of a macvlan/ipvlan/vlan/macvtap
	RelSlave  Relation = "slave"  // a bond or team slave
	RelLower  Relation = "lower"  // the device a tunnel's outer packets leave by
)

// Device is what the kernel says about one device on the egress path.
type Device struct {
	Name string `json:"name"`
	// Kind is the rtnetlink kind ("veth", "bridge", "vxlan", "tuntap", ...;
	// "device" for a NIC without one). Equivalent to: `ip -d link show`.
	Kind string `json:"kind"`
	// Driver is the ethtool driver name (`ethtool -i`), e.g. "virtio_net".
	Driver string `json:"driver"`
	MTU    int    `json:"mtu"`
	// Relation and Via place the device in the stack: "port" of "br0".
	Relation Relation `json:"relation"`
	Via      string   `json:"via,omitempty"`
	// Master is the device this one is enslaved to (bridge, bond, VRF).
	Master string `json:"master,omitempty"`
	// Lower are the devices below this one, in the order they were walked.
	Lower []string `json:"lower,omitempty"`
	// Note explains a choice the walk made, e.g. the bridge port picked
	// from the FDB.
	Note string `json:"note,omitempty"`
	// Tunnel is the tunnel name when the device is one ("vxlan", "tun", ...).
	Tunnel string `json:"tunnel,omitempty"`
	// GSO/GRO limits (`ip -d link show`: gso_max_size, gso_max_segs,
	// gro_max_size, gso_ipv4_max_size, gro_ipv4_max_size, tso_max_size);
	// above 65536 means BIG TCP.
	GSOMaxSize     uint32 `json:"gsoMaxSize"`
	GSOMaxSegs     uint32 `json:"gsoMaxSegs"`
	GROMaxSize     uint32 `json:"groMaxSize"`
	GSOIPv4MaxSize uint32 `json:"gsoIPv4MaxSize"`
	GROIPv4MaxSize uint32 `json:"groIPv4MaxSize"`
	TSOMaxSize     uint32 `json:"tsoMaxSize"`
	// Features are every ethtool feature the device lists.
	Features Features `json:"-"`
	// FeatureError is set when the features could not be read; the device
	// then counts as lacking every offload.
	FeatureError string `json:"featureError,omitempty"`
}

// Label is "name (driver)" as used in reasons, e.g. "eth0 (virtio_net)".
func (d Device) Label() string {
	if d.Driver == "" {
		return d.Name + " (" + d.Kind + ")"
	}
	return d.Name + " (" + d.Driver + ")"
}
