package linux

import (
	"net/netip"

	"github.com/offload-overlay/offload-overlay/pkg/endpoint"
	"github.com/offload-overlay/offload-overlay/pkg/endpoint/endpointnl"
)

// EndpointChecker reads this node's addresses and connected subnets once
// and returns a check of a peer's endpoint against them and against the
// kernel's route to it (endpoint.CheckLocal): not one of our addresses,
// not a subnet's network or broadcast address, routed as unicast.
// Equivalent to: ip -o addr show; ip route get $ep
func (k *kernel) EndpointChecker() (func(netip.Addr) error, error) {
	local, err := endpointnl.ReadLocal(k.h)
	if err != nil {
		return nil, err
	}
	return func(ip netip.Addr) error {
		kind, err := endpointnl.Route(k.h, ip)
		if err != nil {
			return err
		}
		return endpoint.CheckLocal(ip, local, kind)
	}, nil
}
