package topo

// Topology is what Up built: everything a test or script needs to address
// the nodes. `oo-topo up -o json` prints it.
type Topology struct {
	Prefix string `json:"prefix"`
	Site   int    `json:"site"`
	// Switch, Router and Internet are namespace names (ip netns).
	Switch   string `json:"switch"`
	Router   string `json:"router"`
	Internet string `json:"internet,omitempty"`
	// InternetIPs are the internet namespace's addresses (IPv4, IPv6).
	InternetIPs []string `json:"internetIPs,omitempty"`
	// HostLink is the host-namespace link name and HostIP its address
	// (reachable from every node), when Spec.HostLink was set.
	HostLink string `json:"hostLink,omitempty"`
	HostIP   string `json:"hostIP,omitempty"`
	// LabCIDR covers every underlay address of the lab (IPv4).
	LabCIDR string `json:"labCIDR"`
	Nodes   []Node `json:"nodes"`
	Spec    Spec   `json:"spec"`
}

// Node is one node namespace.
type Node struct {
	Name    string `json:"name"`
	Netns   string `json:"netns"`
	Segment string `json:"segment"`
	// Uplink carries the node IPs: "eth0" (veth), "vxul" (VXLAN underlay),
	// "br0" (bridge uplink), "tun0" (an edge's tunnel to its hub) or "eth1"
	// (a two-NIC node's cluster NIC).
	Uplink string `json:"uplink"`
	// Lower is the veth below a tunnel uplink ("" for a veth uplink).
	Lower string `json:"lower,omitempty"`
	// IPv4 and IPv6 are the node IPs (no prefix length), Gateway4/6 the
	// router's addresses on the node's segment.
	IPv4     string `json:"ipv4"`
	IPv6     string `json:"ipv6"`
	Gateway4 string `json:"gateway4"`
	Gateway6 string `json:"gateway6"`
	// SwitchPort is the veth peer in the switch namespace (bridge port).
	SwitchPort      string   `json:"switchPort"`
	NoTunnelOffload bool     `json:"noTunnelOffload,omitempty"`
	PodCIDRs        []string `json:"podCIDRs,omitempty"`
	MTU             int      `json:"mtu"`
	// Hub names an edge node's hub (NodeSpec.Hub), TunnelDefault whether
	// its default route goes through the tunnel.
	Hub           string `json:"hub,omitempty"`
	TunnelDefault bool   `json:"tunnelDefault,omitempty"`
	// ClusterSegment is a two-NIC node's second segment (node IPs on eth1).
	ClusterSegment string `json:"clusterSegment,omitempty"`
}

// NodeByName returns the node called name, or nil.
func (t *Topology) NodeByName(name string) *Node {
	for i := range t.Nodes {
		if t.Nodes[i].Name == name {
			return &t.Nodes[i]
		}
	}
	return nil
}

// NetnsPath is where `ip netns` keeps the namespace called name.
func NetnsPath(name string) string { return netnsDir + "/" + name }

const netnsDir = "/var/run/netns"
