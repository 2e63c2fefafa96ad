package offload

import (
	"fmt"

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
