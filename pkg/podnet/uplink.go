package podnet

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoDefaultRoute is returned by UplinkMTU when the namespace has no
// default route in the main table.
var ErrNoDefaultRoute = errors.New("no default route")

// UplinkMTU returns the MTU of the device of the first default route in the
// main table (IPv4, then IPv6): the pod MTU when neither the config nor the
// node agent gives one.
//
// Equivalent to: ip link show $(ip route show default | awk '{print $5}')
func UplinkMTU(h netlinksafe.Handle) (int, error) {
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		routes, err := h.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return 0, fmt.Errorf("listing routes: %w", err)
		}
		for _, r := range routes {
			if r.Dst != nil && !isDefault(r.Dst) {
				continue
			}
			idx := r.LinkIndex
			if idx == 0 && len(r.MultiPath) > 0 {
				idx = r.MultiPath[0].LinkIndex
			}
			link, err := h.LinkByIndex(idx)
			if err != nil {
				return 0, fmt.Errorf("default route device %d: %w", idx, err)
			}
			return link.Attrs().MTU, nil
		}
	}
	return 0, ErrNoDefaultRoute
}
