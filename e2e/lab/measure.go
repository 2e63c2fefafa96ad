package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// Force overrides the datapath of one pod pair, both directions, with a /32
// (/128) route per remote pod on each node; for VXLAN also the overlay's MTU
// on the pods' own routes to each other (a flannel pod's MTU). The returned
// undo removes exactly that.
func (l *Lab) Force(pa, pb *Pod, path Path) (undo func() error, err error) {
	a, b := l.NodeByName(pa.Node), l.NodeByName(pb.Node)
	dstB, dstA := podHostPrefixes(pb), podHostPrefixes(pa)
	var undos []func() error
	undo = func() error {
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			errs = append(errs, undos[i]())
		}
		return errors.Join(errs...)
	}
	success := false
	defer func() {
		if !success {
			_ = undo()
		}
	}()
	for _, side := range []struct {
		from, to *Node
		dsts     []netip.Prefix
	}{{a, b, dstB}, {b, a, dstA}} {
		if err := l.setRoute(side.from, side.to, side.dsts, path, false); err != nil {
			return nil, err
		}
		undos = append(undos, func() error { return l.setRoute(side.from, side.to, side.dsts, path, true) })
	}
	if path == PathVXLAN {
		for _, pp := range [][2]*Pod{{pa, pb}, {pb, pa}} {
			mtu := l.NodeByName(pp[0].Node).vx.mtu
			if err := podRouteMTU(pp[0], pp[1], mtu, false); err != nil {
				return nil, err
			}
			undos = append(undos, func() error { return podRouteMTU(pp[0], pp[1], mtu, true) })
		}
	}
	success = true
	return undo, nil
}

func podHostPrefixes(p *Pod) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{p.IPv4, p.IPv6} {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// podRouteMTU sets (or removes) a route in pod from to pod to with an MTU.
// Equivalent to: `ip -n $from route replace $to/32 via $gw dev eth0 mtu $mtu`.
func podRouteMTU(from, to *Pod, mtu int, del bool) error {
	op := "replace"
	if del {
		op = "del"
	}
	for _, pair := range [][2]string{{to.IPv4, from.Gateway4}, {to.IPv6, from.Gateway6}} {
		if pair[0] == "" || pair[1] == "" || pair[1] == "<nil>" {
			continue
		}
		args := []string{"ip", "route", op, pair[0], "via", pair[1], "dev", "eth0", "mtu", fmt.Sprint(mtu)}
		if _, err := topo.Exec(from.Netns, args...); err != nil && !del {
			return err
		}
	}
	return nil
}

// Tune gives every pod and node namespace the large receive buffer.
func (l *Lab) Tune() error {
	for _, n := range l.Nodes {
		if err := perf.TuneEndpoint(n.Netns); err != nil {
			return err
		}
	}
	for _, p := range l.Pods {
		if err := perf.TuneEndpoint(p.Netns); err != nil {
			return err
		}
	}
	return nil
}

// probes are the devices whose transmit counters show where a stream from
// node n was cut: its uplink and, for a tunnel underlay, the veth below.
func probes(n *Node) []perf.Probe {
	ps := []perf.Probe{{Netns: n.Netns, Dev: n.Uplink, Label: "uplink"}}
	if n.Lower != "" {
		ps = append(ps, perf.Probe{Netns: n.Netns, Dev: n.Lower, Label: "lower"})
	}
	if n.vx != nil {
		ps = append(ps, perf.Probe{Netns: n.Netns, Dev: labVXName, Label: labVXName})
	}
	return ps
}

// measure runs one iperf3 test and samples the sender's devices.
func (l *Lab) measure(ctx context.Context, sender *Node, clientNS, serverNS, server string, o perf.Options) (perf.Sample, error) {
	ps := probes(sender)
	before, err := perf.Snapshot(ps)
	if err != nil {
		return perf.Sample{}, err
	}
	res, err := perf.Iperf(ctx, clientNS, serverNS, server, o)
	if err != nil {
		return perf.Sample{}, err
	}
	after, err := perf.Snapshot(ps)
	if err != nil {
		return perf.Sample{}, err
	}
	return perf.Sample{Result: res, Sizes: perf.PacketSizes(ps, before, after)}, nil
}

// Bare measures node a to node b over the underlay, the kernel's best.
func (l *Lab) Bare(ctx context.Context, a, b *Node, o perf.Options) (perf.Sample, error) {
	return l.measure(ctx, a, a.Netns, b.Netns, b.IPv4, o)
}

// PodToPod measures pod pa to pod pb over whatever datapath is in place.
func (l *Lab) PodToPod(ctx context.Context, pa, pb *Pod, o perf.Options) (perf.Sample, error) {
	return l.measure(ctx, l.NodeByName(pa.Node), pa.Netns, pb.Netns, pb.IPv4, o)
}

// Forced measures pa to pb with the pair forced onto path for the duration.
func (l *Lab) Forced(ctx context.Context, pa, pb *Pod, path Path, o perf.Options) (perf.Sample, error) {
	undo, err := l.Force(pa, pb, path)
	if err != nil {
		return perf.Sample{}, err
	}
	defer undo()
	if _, err := topo.Exec(pa.Netns, "ping", "-c1", "-W1", pb.IPv4); err != nil {
		return perf.Sample{}, fmt.Errorf("%w: %s -> %s forced %s", ErrNoPath, pa.Netns, pb.IPv4, path)
	}
	return l.PodToPod(ctx, pa, pb, o)
}

// ErrNoPath: a forced datapath does not connect on this underlay.
var ErrNoPath = errors.New("does not connect")

// PairCases returns the interleaved cases for one pod pair: bare node to
// node (the baseline), the datapath in place (auto), forced VXLAN, forced
// native.
func (l *Lab) PairCases(pa, pb *Pod, o perf.Options) []perf.Case {
	a, b := l.NodeByName(pa.Node), l.NodeByName(pb.Node)
	return []perf.Case{
		{Name: CaseBare, Run: func(ctx context.Context) (perf.Sample, error) { return l.Bare(ctx, a, b, o) }},
		{Name: CaseAuto, Run: func(ctx context.Context) (perf.Sample, error) { return l.PodToPod(ctx, pa, pb, o) }},
		{Name: CaseVXLAN, Run: func(ctx context.Context) (perf.Sample, error) { return l.Forced(ctx, pa, pb, PathVXLAN, o) }},
		{Name: CaseNative, Run: func(ctx context.Context) (perf.Sample, error) { return l.Forced(ctx, pa, pb, PathNative, o) }},
	}
}

// Case names in tables.
const (
	CaseBare   = "bare node-to-node"
	CaseAuto   = "auto"
	CaseVXLAN  = "forced VXLAN"
	CaseNative = "forced native"
)
