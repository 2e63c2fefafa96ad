package decision

import (
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
)

// Both ends' views of a pair, as each agent publishes them: the route to
// the other's node IP (on-link or through a gateway, and on which device)
// and the walk below that device.
var (
	vxTunnel = func(dev string) offloadtypes.Verdict {
		return offloadtypes.Verdict{UnderlayTunnel: "vxlan", UnderlayTunnelDevice: dev, Blocker: dev + " (vxlan): tx-udp_tnl-segmentation off [fixed]"}
	}
	onLinkVia = func(dev string) View { return View{Known: true, OnLink: true, Egress: dev} }
	gwVia     = func(gw, dev string) View { return View{Known: true, Gateway: gw, Egress: dev} }
	srcVia    = func(dev, src string) View { return View{Known: true, OnLink: true, Egress: dev, Source: src} }
)

// viewed is one end; carries means its default route carries the other's
// pod CIDR (the common case in generated topologies).
func viewed(v offloadtypes.Verdict, view View, carries, probe bool, mtu int) Side {
	return Side{Verdict: v, Encaps: []string{"vxlan"}, UplinkMTU: mtu, View: view,
		UnderlayCarriesPeerPodCIDR: carries, CarriedByDefault: carries, NativeProbeOK: probe}
}

func TestDecideBothViews(t *testing.T) {
	cases := []struct {
		name        string
		cfg         Config
		local, peer Side
		want        string // summary(): mode, rule, segmentation
		mtu         int
		reasons     []string // substrings of the reasons
	}{
		{
			// The hub: on-link to the edge through its tunnel
			// interface e1; the edge reaches the hub through the tunnel via
			// the hub's end of it, and its default route through the tunnel
			// carries every pod CIDR. Native, on both ends.
			name:  "hub and edge, default route through the tunnel",
			local: viewed(vxTunnel("e1"), srcVia("e1", "172.31.10.1"), false, false, 1450),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, false, 1450),
			want:  "N1", mtu: 1450,
		},
		{
			// An L3 point-to-point tunnel (WireGuard-like, no gateway) that
			// carries the other's pod CIDR delivers to the other end itself.
			name:  "point-to-point L3 tunnels that carry",
			local: viewed(wgTunnel, View{Known: true, Egress: "wg0"}, true, false, 1420),
			peer:  viewed(wgTunnel, View{Known: true, Egress: "wg0"}, true, false, 1420),
			want:  "N3", mtu: 1420,
			reasons: []string{"the underlay is a tunnel"},
		},
		{
			// A default route through a tunnel to a router says nothing of
			// the router's pod routes: without native probes, unreachable
			// (a VXLAN on top would nest), never a black hole.
			name:    "tunnels to routers without probes",
			local:   viewed(vxTunnel("vxul"), gwVia("172.24.4.1", "vxul"), true, false, 1450),
			peer:    viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, false, 1450),
			want:    "U3",
			reasons: []string{"remedy"},
		},
		{
			name:  "tunnels to routers, both probes through",
			local: viewed(vxTunnel("vxul"), gwVia("172.24.4.1", "vxul"), true, true, 1450),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, true, 1450),
			want:  "N2", mtu: 1450,
		},
		{
			// The hub publishes the address it sends from towards the edge,
			// which is the edge's gateway: the edge's next hop is the hub
			// itself, so each is the other's direct neighbour.
			name:  "hub and edge, the edge's gateway is the hub",
			local: viewed(vxTunnel("e1"), srcVia("e1", "172.31.10.1"), false, false, 1450),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), false, false, 1450),
			want:  "N1", mtu: 1450,
			reasons: []string{"direct neighbour from both ends (this node on-link on e1, peer 192.168.5.2 through 172.31.10.1 on tun0)"},
		},
		{
			// The edge's gateway is not the hub (a router in between) and
			// its tunnel carries no pod CIDR: both ends unreachable, the
			// remedy names the edge's tunnel; never a route on the hub alone.
			name:  "hub and edge, tunnel carries no pod CIDR",
			local: viewed(vxTunnel("e1"), onLinkVia("e1"), false, false, 1450),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), false, false, 1450),
			want:  "U3",
			reasons: []string{"this node reaches peer 192.168.5.2 on-link (on-link on e1)", "but the peer reaches this node through 172.31.10.1 on tun0",
				"remedy: on peer 192.168.5.2, route this node's pod CIDR through its vxlan underlay (tun0)", "--allow-nested-encap"},
		},
		{
			// A second NIC: this node is on the peer's L2 through eth1, the
			// peer reaches this node through the router. No tunnel on either
			// path: one VXLAN level both ways, never a one-sided native route.
			name:  "second NIC on the peer's L2, peer behind a router",
			local: viewed(capable, onLinkVia("eth1"), false, false, 1500),
			peer:  viewed(capable, gwVia("10.0.2.1", "eth0"), false, false, 1500),
			want:  "V4h", mtu: 1450,
			reasons: []string{"both ends must route natively"},
		},
		{
			name:  "second NIC, the peer's native probe crossed the router",
			local: viewed(capable, onLinkVia("eth1"), false, false, 1500),
			peer:  viewed(capable, gwVia("10.0.2.1", "eth0"), false, true, 1500),
			want:  "N2", mtu: 1500,
			reasons: []string{"this node reaches it on-link and its native probe reached this node's pod CIDR through 10.0.2.1"},
		},
		{
			// Each end on-link on a different device: rule 1, and the pod
			// MTU is the smaller egress MTU of the two.
			name:  "on-link both ways over devices of different MTU",
			local: viewed(capable, onLinkVia("eth1"), false, false, 9000),
			peer:  viewed(capable, onLinkVia("br0"), false, false, 1500),
			want:  "N1", mtu: 1500,
			reasons: []string{"direct neighbour from both ends (this node on-link on eth1, peer 192.168.5.2 on-link on br0)"},
		},
		{
			// A plain node behind the router and an edge behind a tunnel:
			// VXLAN would nest on the edge's side, so native or nothing.
			name:    "plain node and edge without pod routes",
			local:   viewed(capable, gwVia("10.0.1.1", "eth0"), true, false, 1500),
			peer:    viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, false, 1450),
			want:    "U3",
			reasons: []string{"remedy: this node reaches the peer without a tunnel (through 10.0.1.1 on eth0): let the underlay route pod CIDRs"},
		},
		{
			// The edge's carrying route leads to its hub, not to the plain
			// node: the edge must probe too.
			name:  "plain node whose probe crossed to an edge that carries",
			local: viewed(capable, gwVia("10.0.1.1", "eth0"), true, true, 1500),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, false, 1450),
			want:  "U3",
		},
		{
			name:  "plain node and edge, both probes through",
			local: viewed(capable, gwVia("10.0.1.1", "eth0"), true, true, 1500),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), true, true, 1450),
			want:  "N2", mtu: 1450,
		},
		{
			name:  "plain node and edge, nesting allowed",
			cfg:   Config{AllowNestedEncap: true},
			local: viewed(capable, gwVia("10.0.1.1", "eth0"), false, false, 1500),
			peer:  viewed(vxTunnel("tun0"), gwVia("172.31.10.1", "tun0"), false, false, 1450),
			want:  "V3n", mtu: 1400,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := Input{Local: c.local, Peer: c.peer, PeerNodeIP: "192.168.5.2", PeerPodCIDR: "10.244.2.0/24"}
			a, b := Decide(c.cfg, in), Decide(c.cfg, Swap(in))
			if s := summary(a); s != c.want {
				t.Errorf("got %s, want %s\n  %s", s, c.want, strings.Join(a.Reasons, "\n  "))
			}
			if summary(b) != summary(a) || b.MTU != a.MTU {
				t.Errorf("the peer decides %s mtu %d, this node %s mtu %d", summary(b), b.MTU, summary(a), a.MTU)
			}
			if c.mtu != 0 && a.MTU != c.mtu {
				t.Errorf("mtu %d, want %d", a.MTU, c.mtu)
			}
			all := strings.Join(a.Reasons, "\n")
			for _, w := range c.reasons {
				if !strings.Contains(all, w) {
					t.Errorf("reasons lack %q:\n%s", w, all)
				}
			}
			checkInvariants(t, c.cfg, in, a)
		})
	}
}

// An end that publishes no view (an older agent) is taken to see the pair
// as this node does, which is what every agent assumed before views.
func TestDecideWithoutPeerView(t *testing.T) {
	in := Input{Local: viewed(capable, onLinkVia("eth0"), false, false, 1500), Peer: side(capable, false), OnLink: true}
	if r := Decide(Config{}, in); r.Mode != ModeNative || r.Rule != 1 {
		t.Errorf("on-link, peer without view: %s", summary(r))
	}
	in.OnLink = false
	in.Local.View = gwVia("10.0.0.254", "eth0")
	if r := Decide(Config{}, in); r.Mode != ModeVXLAN {
		t.Errorf("off-link, peer without view: %s", summary(r))
	}
}
