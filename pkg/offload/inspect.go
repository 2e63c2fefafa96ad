package offload

import (
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
)

// Inspect resolves the egress path for t in the calling thread's network
// namespace and reads every device on it.
// Equivalent to: `ip route get DST`, `ip -d link show`, `ethtool -i` and
// `ethtool -k` for each device below the route's output device.
func Inspect(t Target) (*Path, error) {
	r, err := newEthtoolReader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return resolvePath(r, t)
}

// InspectIn is Inspect inside netns (nil: the calling thread's namespace).
// The ethtool socket is opened inside netns, so device names resolve there.
func InspectIn(netns ns.NetNS, t Target) (*Path, error) {
	if netns == nil {
		return Inspect(t)
	}
	var p *Path
	err := netns.Do(func(ns.NetNS) error {
		var err error
		p, err = Inspect(t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inspecting path in %s: %w", netns.Path(), err)
	}
	return p, nil
}

// InspectAt is Inspect inside the network namespace mounted at nsPath
// (e.g. /var/run/netns/node1; "" for the caller's).
// Equivalent to: `ip netns exec NAME ...`.
func InspectAt(nsPath string, t Target) (*Path, error) {
	if nsPath == "" {
		return Inspect(t)
	}
	netns, err := ns.GetNS(nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening netns %s: %w", nsPath, err)
	}
	defer netns.Close()
	return InspectIn(netns, t)
}

// InspectPeer is the path towards a peer node IP (the default route when
// peer is nil), with its verdict. This is what the agent publishes.
func InspectPeer(netns ns.NetNS, peer net.IP) (*Path, Verdict, error) {
	p, err := InspectIn(netns, Target{Dest: peer})
	if err != nil {
		return nil, Verdict{}, err
	}
	return p, VerdictOf(p), nil
}
