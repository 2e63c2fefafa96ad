package config

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/mtu"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// HostLocal is the IPAM plugin whose ranges the plugin fills from the
// node's pod CIDRs.
const HostLocal = "host-local"

// releaseOnlyCIDR fills host-local's ranges on DEL and GC when neither the
// config nor the node state has any: host-local releases by container ID and
// ifname and never looks at the range, but refuses a config without one.
// 192.0.2.0/24 is TEST-NET-1 (RFC 5737), never a real pod CIDR.
const releaseOnlyCIDR = "192.0.2.0/24"

// Derived holds the values of one invocation that depend on the node.
type Derived struct {
	// MTU of both veth ends.
	MTU int
	// IPAMConf is the stdin to hand to the IPAM plugin.
	IPAMConf []byte
	// GSOMaxSize and GROMaxSize are the BIG TCP sizes for both veth ends
	// (IPv6 and IPv4 variants); 0 leaves the kernel default.
	GSOMaxSize, GROMaxSize int
}

// Derive computes the per-node values for ADD. node is the agent's state, nil
// when there is none; uplinkMTU is called only when neither the config nor the
// state gives an MTU.
func (c *NetConf) Derive(node *state.NodeState, uplinkMTU func() (int, error)) (*Derived, error) {
	podMTU, err := c.podMTU(node, uplinkMTU)
	if err != nil {
		return nil, err
	}
	ipamConf, err := c.IPAMConfig(node)
	if err != nil {
		return nil, err
	}
	d := &Derived{MTU: podMTU, IPAMConf: ipamConf}
	if node != nil && node.GSOMaxSize > mtu.BigTCPThreshold {
		d.GSOMaxSize = node.GSOMaxSize
	}
	if node != nil && node.GROMaxSize > mtu.BigTCPThreshold {
		d.GROMaxSize = node.GROMaxSize
	}
	return d, nil
}

// podMTU picks the MTU: config, then node state, then the uplink. It picks,
// it does not compute: the agent computes the pod MTU from its paths
// (mtu.PodMTU) and publishes it in the node state.
func (c *NetConf) podMTU(node *state.NodeState, uplinkMTU func() (int, error)) (int, error) {
	switch {
	case c.MTU > 0:
		return c.MTU, nil
	case node != nil && node.MTU > 0:
		if node.MTU < MinMTU || node.MTU > MaxMTU {
			return 0, fmt.Errorf("node state mtu %d out of range %d..%d", node.MTU, MinMTU, MaxMTU)
		}
		return node.MTU, nil
	}
	mtu, err := uplinkMTU()
	if err != nil {
		return 0, types.NewError(types.ErrTryAgainLater,
			"mtu: 0 (automatic) but no node state and no uplink MTU", err.Error())
	}
	return mtu, nil
}

// IPAMConfig returns the stdin for the IPAM plugin: the configuration as
// received when it has its own ranges, else the same with ipam.ranges filled
// from the node's pod CIDRs (one range set per family). Without ranges and
// without pod CIDRs it returns a CNI error with code 11 (try again later):
// the agent has not published the node's CIDRs yet.
//
// Only host-local's configuration is filled: other IPAM plugins (dhcp,
// whereabouts, ...) have their own address configuration and get the
// configuration as received.
func (c *NetConf) IPAMConfig(node *state.NodeState) ([]byte, error) {
	if c.HasRanges() || c.IPAM.Type != HostLocal {
		return c.raw, nil
	}
	if node == nil || len(node.PodCIDRs) == 0 {
		return nil, types.NewError(types.ErrTryAgainLater,
			"ipam.ranges: absent and the node agent has not published pod CIDRs yet",
			"state file "+state.Path(c.StateDir))
	}
	for _, cidr := range node.PodCIDRs {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return nil, fmt.Errorf("node state podCIDRs: %q: %w", cidr, err)
		}
	}
	return c.withRanges(node.PodCIDRs)
}

// IPAMConfigForRelease is IPAMConfig for DEL and GC, which must release
// addresses even when the node state is gone: it falls back to a placeholder
// range that host-local accepts and ignores when releasing.
func (c *NetConf) IPAMConfigForRelease(node *state.NodeState) ([]byte, error) {
	if b, err := c.IPAMConfig(node); err == nil {
		return b, nil
	}
	return c.withRanges([]string{releaseOnlyCIDR})
}

type rangeEntry struct {
	Subnet string `json:"subnet"`
}

// withRanges re-encodes the configuration with ipam.ranges set to one range
// set per CIDR.
func (c *NetConf) withRanges(cidrs []string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(c.raw, &top); err != nil {
		return nil, fmt.Errorf("re-reading config: %w", err)
	}
	sets := make([][]rangeEntry, 0, len(cidrs))
	for _, cidr := range cidrs {
		sets = append(sets, []rangeEntry{{Subnet: cidr}})
	}
	ipamObj := make(map[string]json.RawMessage, len(c.rawIPAM)+1)
	for k, v := range c.rawIPAM {
		ipamObj[k] = v
	}
	rb, err := json.Marshal(sets)
	if err != nil {
		return nil, fmt.Errorf("encoding ipam.ranges: %w", err)
	}
	ipamObj["ranges"] = rb
	if top["ipam"], err = json.Marshal(ipamObj); err != nil {
		return nil, fmt.Errorf("encoding ipam: %w", err)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return out, nil
}

// AdmitAdd says whether ADD may give a pod a network now: only when the
// node agent's state says the node is ready (the datapath converged, the
// pod MTU and CIDRs known), else code 11 (try again later) with the
// agent's reason, so the runtime retries instead of starting a pod whose
// network cannot work. A standalone config (explicit mtu and ranges) needs
// no agent and is always admitted. node is nil when there is no state file.
func (c *NetConf) AdmitAdd(node *state.NodeState) error {
	if c.MTU > 0 && c.HasRanges() {
		return nil
	}
	if node == nil {
		return types.NewError(types.ErrTryAgainLater, "node agent has not written its state yet",
			"state file "+state.Path(c.StateDir)+" missing: is offload-overlay-agent running on this node?")
	}
	if !node.Ready {
		reason := node.Reason
		if reason == "" {
			reason = "no reason given"
		}
		return types.NewError(types.ErrTryAgainLater, "node agent not ready: "+reason,
			"state file "+state.Path(c.StateDir)+" updated "+node.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return nil
}
