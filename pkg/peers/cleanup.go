package peers

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Cleanup deletes every route carrying RouteProtocol, in every table and
// both families (h nil: the calling thread's network namespace). FDB
// entries and neighbours live on our tunnel devices and go with them
// (overlay.TeardownAll).
// Equivalent to: ip route flush proto 0x4f table all; ip -6 route flush proto 0x4f table all
func Cleanup(h *netlink.Handle) error {
	if h == nil {
		h = &netlink.Handle{}
	}
	var errs []error
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		filter := &netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_UNSPEC}
		routes, err := netlinksafe.Handle{Handle: h}.RouteListFiltered(fam, filter,
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing proto %#x routes: %w", RouteProtocol, err))
			continue
		}
		for _, r := range routes {
			if err := h.RouteDel(&r); err != nil && !gone(err) {
				errs = append(errs, fmt.Errorf("deleting route %s: %w", r.Dst, err))
			}
		}
	}
	return errors.Join(errs...)
}
