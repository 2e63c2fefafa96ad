package offload_test

import (
	"net"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// want is what the kernel must report for one underlay.
type want struct {
	devices  []string // path order: egress first
	kinds    []string
	tunnel   string // Verdict.UnderlayTunnel
	seg      bool   // Verdict.TunnelSegmentation
	segCsum  bool
	blocker  string // Verdict.Blocker
	vxlanSeg string // SegmentationFor(vxlan).Where
	// noGateway: the route has no gateway but is not on-link (L3 tunnel).
	noGateway bool
	peer      net.IP // default: offloadtest.OffLinkPeer
}

func TestInspectUnderlays(t *testing.T) {
	cases := map[offloadtest.Underlay]want{
		offloadtest.Veth: {devices: []string{"eth0"}, kinds: []string{"veth"}, seg: true, segCsum: true,
			vxlanSeg: offload.WherePassThrough},
		offloadtest.VirtioLike: {devices: []string{"eth0"}, kinds: []string{"veth"},
			blocker: "eth0 (veth): tx-udp_tnl-segmentation off", vxlanSeg: offload.WhereSoftware},
		offloadtest.VXLANUnderlay: {devices: []string{"vx0", "eth0"}, kinds: []string{"vxlan", "veth"}, tunnel: "vxlan",
			blocker: "vx0 (vxlan): tx-udp_tnl-segmentation off [fixed]", vxlanSeg: offload.WhereSoftware},
		offloadtest.Bridge: {devices: []string{"br0", "eth0", "eth1"}, kinds: []string{"bridge", "veth", "veth"}, seg: true, segCsum: true,
			vxlanSeg: offload.WherePassThrough},
		offloadtest.BridgeMixed: {devices: []string{"br0", "eth0", "eth1"}, kinds: []string{"bridge", "veth", "veth"},
			blocker: "eth1 (veth): tx-udp_tnl-segmentation off", vxlanSeg: offload.WhereSoftware},
		offloadtest.BridgeFDB: {devices: []string{"br0", "eth0"}, kinds: []string{"bridge", "veth"}, seg: true, segCsum: true,
			vxlanSeg: offload.WherePassThrough},
		offloadtest.Veth6: {devices: []string{"eth0"}, kinds: []string{"veth"}, seg: true, segCsum: true,
			vxlanSeg: offload.WherePassThrough, peer: offloadtest.OffLinkPeer6},
		offloadtest.Macvlan: {devices: []string{"mv0", "eth0"}, kinds: []string{"macvlan", "veth"}, seg: true, segCsum: true,
			vxlanSeg: offload.WherePassThrough},
		offloadtest.MacvlanWeak: {devices: []string{"mv0", "eth0"}, kinds: []string{"macvlan", "veth"},
			vxlanSeg: offload.WhereSoftware},
		offloadtest.TunUnderlay: {devices: []string{"tun0"}, kinds: []string{"tuntap"}, tunnel: "tun",
			vxlanSeg: offload.WhereSoftware, noGateway: true},
	}
	for _, u := range offloadtest.All {
		w := cases[u]
		t.Run(string(u), func(t *testing.T) {
			n := offloadtest.Build(t, u)
			peer := offloadtest.OffLinkPeer
			if w.peer != nil {
				peer = w.peer
			}
			p, err := offload.InspectIn(n, offload.Target{Dest: peer})
			if err != nil {
				t.Fatalf("InspectIn: %v", err)
			}
			v := offload.VerdictOf(p)
			checkPath(t, p, w)
			if v.TunnelSegmentation != w.seg || v.TunnelSegmentationCsum != w.segCsum || v.UnderlayTunnel != w.tunnel {
				t.Errorf("verdict = %+v, want seg %v csum %v tunnel %q", v, w.seg, w.segCsum, w.tunnel)
			}
			if w.blocker != "" && v.Blocker != w.blocker {
				t.Errorf("blocker = %q, want %q", v.Blocker, w.blocker)
			}
			if got := p.SegmentationFor(offload.TrafficVXLAN); got.Where != w.vxlanSeg {
				t.Errorf("vxlan segmentation = %+v, want %s", got, w.vxlanSeg)
			}
			if p.OnLink || (p.Gateway == nil) != w.noGateway {
				t.Errorf("route to %s: onLink %v gateway %v, want off-link via a gateway", peer, p.OnLink, p.Gateway)
			}
			if len(v.Reasons) == 0 {
				t.Errorf("verdict has no reasons")
			}
		})
	}
}

func checkPath(t *testing.T, p *offload.Path, w want) {
	t.Helper()
	var names, kinds []string
	for _, d := range p.Devices {
		names, kinds = append(names, d.Name), append(kinds, d.Kind)
		if d.MTU == 0 || d.Driver == "" || len(d.Features) == 0 || d.FeatureError != "" {
			t.Errorf("%s: incomplete device facts: %+v", d.Name, d)
		}
		if d.GSOMaxSize == 0 || d.GSOMaxSegs == 0 || d.GROMaxSize == 0 {
			t.Errorf("%s: GSO/GRO limits not read: %+v", d.Name, d)
		}
	}
	if !slices.Equal(names, w.devices) || !slices.Equal(kinds, w.kinds) {
		t.Errorf("path = %v %v, want %v %v", names, kinds, w.devices, w.kinds)
	}
	if p.Egress != w.devices[0] {
		t.Errorf("egress = %s, want %s", p.Egress, w.devices[0])
	}
}

func TestInspectOnLinkAndDefault(t *testing.T) {
	n := offloadtest.Build(t, offloadtest.Veth)
	p, err := offload.InspectIn(n, offload.Target{Dest: offloadtest.OnLinkPeer})
	if err != nil {
		t.Fatalf("InspectIn(on-link): %v", err)
	}
	if !p.OnLink || p.Gateway != nil || p.Egress != "eth0" {
		t.Errorf("on-link path = onLink %v gw %v egress %s", p.OnLink, p.Gateway, p.Egress)
	}
	p, err = offload.InspectIn(n, offload.Target{})
	if err != nil {
		t.Fatalf("InspectIn(default): %v", err)
	}
	if p.OnLink || !p.Gateway.Equal(net.ParseIP("10.0.0.254")) || p.Egress != "eth0" {
		t.Errorf("default path = onLink %v gw %v egress %s", p.OnLink, p.Gateway, p.Egress)
	}
	p, err = offload.InspectIn(n, offload.Target{Iface: "sw0"})
	if err != nil || p.Egress != "sw0" {
		t.Fatalf("InspectIn(iface sw0) = %+v, %v", p, err)
	}
}

func TestFreshDeviceFeatures(t *testing.T) {
	// kernel-lab.md: a fresh veth has TSO/GSO on, GRO off, tunnel
	// segmentation on; a fresh vxlan has GRO on and tunnel segmentation
	// "off [fixed]".
	n := offloadtest.Build(t, offloadtest.VXLANUnderlay)
	p, err := offload.InspectIn(n, offload.Target{Dest: offloadtest.OffLinkPeer})
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]map[string]string{
		"vx0":  {offload.FeatUDPTunnelSeg: "off [fixed]", offload.FeatGRO: "on", offload.FeatTSO: "on"},
		"eth0": {offload.FeatUDPTunnelSeg: "on", offload.FeatUDPTunnelCsumSeg: "on", offload.FeatGRO: "off", offload.FeatTSO: "on", offload.FeatGSO: "on", offload.FeatUDPGROForwarding: "off"},
	}
	for _, d := range p.Devices {
		for f, w := range words[d.Name] {
			if got := d.Features.Word(f); got != w {
				t.Errorf("%s %s = %q, want %q", d.Name, f, got, w)
			}
		}
	}
	if p.Devices[0].Tunnel != "vxlan" || p.Devices[1].Relation != offload.RelLower || p.Devices[1].Via != "vx0" {
		t.Errorf("stack = %+v", p.Devices)
	}
	if got := p.SegmentationFor(offload.TrafficNative); got.Where != offload.WherePassThrough || got.Device != "eth0" {
		t.Errorf("native over the vxlan underlay: %+v, want pass-through at eth0", got)
	}
}

func TestNoDefaultRoute(t *testing.T) {
	n := offloadtest.NewNS(t)
	_, err := offload.InspectIn(n, offload.Target{})
	if err == nil {
		t.Fatal("InspectIn without a default route succeeded")
	}
	if !isNoRoute(err) {
		t.Errorf("error %v does not wrap ErrNoRoute", err)
	}
}

// Kinds this kernel may lack: each case skips naming the reason.
func TestMissingKinds(t *testing.T) {
	for _, kind := range []string{"vrf", "bond", "vlan", "geneve"} {
		t.Run(kind, func(t *testing.T) {
			offloadtest.SkipUnlessKernelHas(t, kind)
			n := offloadtest.Build(t, offloadtest.Veth)
			err := n.Do(func(ns.NetNS) error { return stackOn(kind, "eth0") })
			if err != nil {
				t.Fatalf("building %s over eth0: %v", kind, err)
			}
			p, err := offload.InspectIn(n, offload.Target{Iface: "top0"})
			if err != nil {
				t.Fatal(err)
			}
			v := p.Verdict()
			switch kind {
			case "geneve":
				if v.UnderlayTunnel != "geneve" || v.TunnelSegmentation {
					t.Errorf("geneve underlay verdict = %+v", v)
				}
			case "vrf":
				// eth0 enslaved to top0: walking from eth0 reaches the VRF.
				p, err = offload.InspectIn(n, offload.Target{Iface: "eth0"})
				if err != nil || len(p.Devices) != 2 || p.Devices[1].Kind != "vrf" || p.Verdict().TunnelSegmentation {
					t.Errorf("vrf path = %+v, %v; want eth0 then the vrf, not capable", p, err)
				}
			default:
				if len(p.Devices) != 2 || p.Devices[1].Name != "eth0" {
					t.Errorf("%s path = %+v, want top0 then eth0", kind, p.Devices)
				}
			}
		})
	}
}

// stackOn puts a device of kind named top0 on (or, for a VRF, above) dev.
func stackOn(kind, dev string) error {
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return err
	}
	la := netlink.LinkAttrs{Name: "top0"}
	var top netlink.Link
	switch kind {
	case "vlan":
		la.ParentIndex = l.Attrs().Index
		top = &netlink.Vlan{LinkAttrs: la, VlanId: 10}
	case "bond":
		top = netlink.NewLinkBond(la)
	case "vrf":
		top = &netlink.Vrf{LinkAttrs: la, Table: 100}
	case "geneve":
		top = &netlink.Geneve{LinkAttrs: la, ID: 7, Remote: offloadtest.OnLinkPeer}
	}
	if err := netlink.LinkAdd(top); err != nil {
		return err
	}
	if kind == "bond" || kind == "vrf" {
		if err := netlink.LinkSetDown(l); err != nil {
			return err
		}
		if err := netlink.LinkSetMasterByIndex(l, top.Attrs().Index); err != nil {
			return err
		}
	}
	return netlink.LinkSetUp(top)
}
