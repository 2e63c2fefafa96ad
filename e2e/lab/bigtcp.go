package lab

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// BigTCPSize is the GSO/GRO size BIG TCP uses in the lab (IPv4 and IPv6).
const BigTCPSize = 185000

type gsoSizes struct{ gso, gro, gso4, gro4 uint32 }

// SetBigTCP sets gso_max_size, gro_max_size and their IPv4 variants on every
// veth, bridge and VXLAN device of the lab (nodes, pods, switch, router), so
// super-packets above 64 KB can cross every hop. It returns a function that
// restores the previous sizes. Equivalent, per device, to:
// `ip link set $dev gso_max_size 185000 gro_max_size 185000 gso_ipv4_max_size 185000 gro_ipv4_max_size 185000`.
func (l *Lab) SetBigTCP(size uint32) (restore func() error, err error) {
	names, err := topo.ListNetns(l.cfg.Spec.Prefix)
	if err != nil {
		return nil, err
	}
	type saved struct {
		ns, dev string
		s       gsoSizes
	}
	var prev []saved
	restore = func() error {
		var errs []error
		for _, p := range prev {
			errs = append(errs, setSizes(p.ns, p.dev, p.s))
		}
		return errors.Join(errs...)
	}
	for _, n := range names {
		h, err := topo.Handle(n)
		if err != nil {
			return restore, err
		}
		links, err := h.LinkList()
		h.Close()
		if err != nil {
			return restore, fmt.Errorf("listing links in %s: %w", n, err)
		}
		// ports before bridges: a bridge's limits follow its ports
		for _, pass := range []bool{false, true} {
			for _, lk := range links {
				t := lk.Type()
				if (t == "bridge") != pass || (t != "veth" && t != "bridge" && t != "vxlan") {
					continue
				}
				a := lk.Attrs()
				prev = append(prev, saved{n, a.Name, gsoSizes{a.GSOMaxSize, a.GROMaxSize, a.GSOIPv4MaxSize, a.GROIPv4MaxSize}})
				gso := size
				if a.TSOMaxSize > 0 && a.TSOMaxSize < gso {
					// a VXLAN device without a lower device (the agent's,
					// unbound since it follows each peer's route) takes no
					// GSO size above 64 KB: the kernel refuses it (EINVAL)
					gso = a.TSOMaxSize
				}
				if err := setSizes(n, a.Name, gsoSizes{gso, size, gso, size}); err != nil {
					return restore, err
				}
			}
		}
	}
	return restore, nil
}

func setSizes(nsName, dev string, s gsoSizes) error {
	h, err := topo.Handle(nsName)
	if err != nil {
		return err
	}
	defer h.Close()
	lk, err := h.LinkByName(dev)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil // gone (a pod deleted meanwhile)
	}
	if err != nil {
		return err
	}
	for _, f := range []struct {
		set  func(netlink.Link, int) error
		v    uint32
		what string
	}{{h.LinkSetGSOMaxSize, s.gso, "gso_max_size"}, {h.LinkSetGROMaxSize, s.gro, "gro_max_size"},
		{h.LinkSetGSOIPv4MaxSize, s.gso4, "gso_ipv4_max_size"}, {h.LinkSetGROIPv4MaxSize, s.gro4, "gro_ipv4_max_size"}} {
		if f.v == 0 {
			continue
		}
		if err := f.set(lk, int(f.v)); err != nil {
			return fmt.Errorf("%s %s %d in %s: %w", dev, f.what, f.v, nsName, err)
		}
	}
	return nil
}
