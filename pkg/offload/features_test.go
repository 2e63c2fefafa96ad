package offload

import "testing"

func TestFeatureStateWords(t *testing.T) {
	for _, c := range []struct {
		s    FeatureState
		want string
	}{
		{FeatureState{Available: true, Requested: true, Active: true}, "on"},
		{FeatureState{Available: true}, "off"},
		{FeatureState{Active: true, Requested: true, Fixed: true}, "on [fixed]"},
		{FeatureState{Fixed: true}, "off [fixed]"},
		{FeatureState{Available: true, Requested: true}, "off [requested on]"},
		{FeatureState{Available: true, Active: true}, "on [requested off]"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v = %q, want %q", c.s, got, c.want)
		}
	}
	if got := (Features{}).Word(FeatUDPTunnelSeg); got != "off [fixed]" {
		t.Errorf("unlisted feature = %q, want off [fixed]", got)
	}
}

func TestTunnelKinds(t *testing.T) {
	for kind, want := range map[string]string{
		"vxlan": "vxlan", "geneve": "geneve", "ipip": "ipip", "sit": "sit", "gre": "gre", "gretap": "gretap",
		"ip6tnl": "ip6tnl", "ip6gre": "ip6gre", "ip6gretap": "ip6gretap", "wireguard": "wireguard",
		"tuntap": "tun", "xfrm": "xfrm", "veth": "", "bridge": "", "macvlan": "", "device": "", "vrf": "",
	} {
		if got := TunnelKind(kind); got != want {
			t.Errorf("TunnelKind(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestVerdictOf(t *testing.T) {
	on := FeatureState{Available: true, Requested: true, Active: true}
	off := FeatureState{Fixed: true}
	dev := func(name, kind, driver string, seg, csum FeatureState) Device {
		return Device{Name: name, Kind: kind, Driver: driver, Tunnel: TunnelKind(kind),
			Features: Features{FeatUDPTunnelSeg: seg, FeatUDPTunnelCsumSeg: csum}}
	}
	for name, c := range map[string]struct {
		devs          []Device
		seg, csum     bool
		tunnel, block string
	}{
		"capable":       {[]Device{dev("eth0", "device", "ice", on, on)}, true, true, "", ""},
		"virtio":        {[]Device{dev("eth0", "device", "virtio_net", off, off)}, false, false, "", "eth0 (virtio_net): tx-udp_tnl-segmentation off [fixed]"},
		"csum only off": {[]Device{dev("eth0", "device", "x", on, off)}, true, false, "", ""},
		"weakest slave": {[]Device{dev("bond0", "bond", "bonding", on, on), dev("eth0", "device", "ice", on, on), dev("eth1", "device", "virtio_net", off, off)}, false, false, "", "eth1 (virtio_net): tx-udp_tnl-segmentation off [fixed]"},
		"wireguard":     {[]Device{dev("wg0", "wireguard", "wireguard", off, off), dev("eth0", "device", "ice", on, on)}, false, false, "wireguard", "wg0 (wireguard): tx-udp_tnl-segmentation off [fixed]"},
		"tun":           {[]Device{dev("tailscale0", "tuntap", "tun", off, off)}, false, false, "tun", "tailscale0 (tun): tx-udp_tnl-segmentation off [fixed]"},
		"empty":         {nil, false, false, "", ""},
	} {
		v := VerdictOf(&Path{Devices: c.devs})
		if v.TunnelSegmentation != c.seg || v.TunnelSegmentationCsum != c.csum || v.UnderlayTunnel != c.tunnel || v.Blocker != c.block {
			t.Errorf("%s: verdict = %+v, want seg %v csum %v tunnel %q blocker %q", name, v, c.seg, c.csum, c.tunnel, c.block)
		}
	}
}
