package offload

import (
	"github.com/vishvananda/netlink"
)

// readDevice collects netlink attributes, the driver and the features of l.
func readDevice(r *ethtoolReader, l netlink.Link, rel Relation, via string) Device {
	a := l.Attrs()
	d := Device{
		Name:           a.Name,
		Kind:           linkKind(l),
		MTU:            a.MTU,
		Relation:       rel,
		Via:            via,
		Tunnel:         TunnelKind(linkKind(l)),
		GSOMaxSize:     a.GSOMaxSize,
		GSOMaxSegs:     a.GSOMaxSegs,
		GROMaxSize:     a.GROMaxSize,
		GSOIPv4MaxSize: a.GSOIPv4MaxSize,
		GROIPv4MaxSize: a.GROIPv4MaxSize,
		TSOMaxSize:     a.TSOMaxSize,
	}
	if drv, err := r.driver(a.Name); err == nil {
		d.Driver = drv
	}
	f, err := r.features(a.Name)
	if err != nil {
		d.FeatureError = err.Error()
		f = Features{}
	}
	d.Features = f
	return d
}
