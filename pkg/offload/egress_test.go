package offload_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// agentProto stands for the agent's route protocol, which Carries ignores.
const agentProto = 0x4f

var nsSeq atomic.Int32

// node is a throwaway named namespace ("oo-t-egr-PID-N", removed with the
// test) configured with iproute2 commands, which document the topology.
type node struct {
	t    *testing.T
	name string
	ns   ns.NetNS
}

func newNode(t *testing.T) *node {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	name := fmt.Sprintf("oo-t-egr-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	n, err := ns.GetNS("/var/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	nd := &node{t: t, name: name, ns: n}
	nd.ip("link set lo up")
	return nd
}

// ip runs `ip -n NS ARGS`; `ethtool ...` lines run inside the namespace.
func (n *node) ip(lines ...string) {
	n.t.Helper()
	for _, l := range lines {
		var cmd *exec.Cmd
		if rest, ok := strings.CutPrefix(l, "ethtool "); ok {
			cmd = exec.Command("ip", append([]string{"netns", "exec", n.name, "ethtool"}, strings.Fields(rest)...)...)
		} else {
			cmd = exec.Command("ip", append([]string{"-n", n.name}, strings.Fields(l)...)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			n.t.Fatalf("%s: %v: %s", cmd, err, out)
		}
	}
}

// uplinks adds veth devices whose peers stay in the namespace (a peer is a
// leaf for the walk), each up with its address.
func (n *node) veth(name, addr string) {
	n.ip("link add "+name+" type veth peer name "+name+"p", "link set "+name+"p up", "link set "+name+" up")
	if addr != "" {
		n.ip("addr add " + addr + " dev " + name)
	}
}

func egress(t *testing.T, n *node, peer string) *offload.Egress {
	t.Helper()
	e, err := offload.EgressTo(n.ns, net.ParseIP(peer))
	if err != nil {
		t.Fatalf("EgressTo %s: %v", peer, err)
	}
	return e
}

func devices(e *offload.Egress) []string {
	var out []string
	for _, d := range e.Path.Devices {
		out = append(out, d.Name)
	}
	return out
}

func carries(t *testing.T, n *node, e *offload.Egress, cidr string) bool {
	t.Helper()
	ok, err := offload.Carries(n.ns, e, netip.MustParsePrefix(cidr), agentProto)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// A node with two NICs: the node IP on eth1 (cluster network), the default
// route on eth0. Peers on the cluster network leave by eth1 on-link, the
// rest by eth0 through the gateway; policy routing sends 10.8/16 by table
// 100 through eth1's gateway.
func TestEgressTwoNICs(t *testing.T) {
	n := newNode(t)
	n.veth("eth0", "10.0.0.1/24")
	n.veth("eth1", "10.1.0.1/24")
	n.ip("route add default via 10.0.0.254",
		"ethtool -K eth0 tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off",
		"route add default via 10.1.0.254 table 100",
		"rule add to 10.8.0.0/16 lookup 100 pref 100")

	e := egress(t, n, "10.1.0.2")
	if e.Device != "eth1" || !e.OnLink || e.Gateway != nil || !e.Source.Equal(net.ParseIP("10.1.0.1")) {
		t.Errorf("cluster peer: got %+v, want eth1 on-link src 10.1.0.1", e.Hop)
	}
	if !e.Verdict.TunnelSegmentation {
		t.Errorf("cluster peer: eth1 is capable, verdict %+v", e.Verdict)
	}
	e = egress(t, n, "10.9.0.2")
	if e.Device != "eth0" || e.OnLink || !e.Gateway.Equal(net.ParseIP("10.0.0.254")) {
		t.Errorf("other peer: got %+v, want eth0 via 10.0.0.254", e.Hop)
	}
	if e.Verdict.TunnelSegmentation || !strings.HasPrefix(e.Verdict.Blocker, "eth0") {
		t.Errorf("other peer: eth0 lacks tunnel segmentation, verdict %+v", e.Verdict)
	}
	e = egress(t, n, "10.8.0.2")
	if e.Device != "eth1" || e.Table != 100 || !e.Gateway.Equal(net.ParseIP("10.1.0.254")) {
		t.Errorf("policy-routed peer: got %+v table %d, want eth1 via 10.1.0.254 table 100", e.Hop, e.Table)
	}
	// The default route of table 100 carries pod CIDRs towards that peer;
	// the main table's default route (eth0) does not leave by eth1.
	if !carries(t, n, e, "10.244.3.0/24") {
		t.Error("table 100's default route via eth1 carries 10.244.3.0/24")
	}
	e = egress(t, n, "10.1.0.2")
	if carries(t, n, e, "10.244.4.0/24") {
		t.Error("main default route leaves by eth0, not eth1: must not carry")
	}
	n.ip("route add 10.244.4.0/24 via 10.1.0.2 dev eth1 proto 0x4f")
	if carries(t, n, e, "10.244.4.0/24") {
		t.Error("the agent's own route (proto 0x4f) must not count")
	}
	n.ip("route add 10.244.0.0/16 via 10.1.0.2 dev eth1")
	if !carries(t, n, e, "10.244.4.0/24") {
		t.Error("an operator route covering the pod CIDR via eth1 carries it")
	}
}

// The edge node: its uplink is a point-to-point VXLAN tunnel to a
// hub, its default route goes through the tunnel; the hub has the tunnel as
// a second interface beside its uplink.
func TestEgressPointToPointTunnel(t *testing.T) {
	edge := newNode(t)
	edge.veth("eth0", "192.0.2.2/24")
	edge.ip("link add tun0 mtu 1450 type vxlan id 7 remote 192.0.2.1 local 192.0.2.2 dstport 8473 dev eth0",
		"addr add 172.31.10.2/24 dev tun0", "link set tun0 up",
		"route add default via 172.31.10.1 dev tun0")
	e := egress(t, edge, "172.30.1.11") // the hub's node IP, on another subnet
	if e.Device != "tun0" || e.OnLink || !e.Gateway.Equal(net.ParseIP("172.31.10.1")) || e.MTU != 1450 {
		t.Errorf("edge: got %+v mtu %d, want tun0 via 172.31.10.1 mtu 1450", e.Hop, e.MTU)
	}
	if got := devices(e); strings.Join(got, ",") != "tun0,eth0" {
		t.Errorf("edge walk %v, want tun0 then its lower eth0", got)
	}
	if e.Verdict.UnderlayTunnel != "vxlan" || e.Verdict.UnderlayTunnelDevice != "tun0" {
		t.Errorf("edge verdict %+v, want vxlan underlay at tun0", e.Verdict)
	}
	if !carries(t, edge, e, "10.244.1.0/24") {
		t.Error("edge: the default route through tun0 carries every pod CIDR")
	}

	hub := newNode(t)
	hub.veth("eth0", "172.30.1.11/24")
	hub.veth("eth1", "192.0.2.1/24")
	hub.ip("route add default via 172.30.1.1",
		"link add e1 mtu 1450 type vxlan id 7 remote 192.0.2.2 local 192.0.2.1 dstport 8473 dev eth1",
		"addr add 172.31.10.1/24 dev e1", "link set e1 up")
	e = egress(t, hub, "172.31.10.2") // the edge's node IP
	if e.Device != "e1" || !e.OnLink || e.MTU != 1450 {
		t.Errorf("hub: got %+v mtu %d, want e1 on-link (never the uplink eth0) mtu 1450", e.Hop, e.MTU)
	}
	if e.Verdict.UnderlayTunnelDevice != "e1" {
		t.Errorf("hub verdict %+v, want vxlan underlay at e1", e.Verdict)
	}
	if carries(t, hub, e, "10.244.2.0/24") {
		t.Error("hub: its default route leaves by eth0: the tunnel does not carry the edge's pods")
	}
}

// A bridge uplink with several ports: the next hop's MAC is unknown, so
// every port is on the path and the weakest decides.
func TestEgressBridgeUplink(t *testing.T) {
	n := newNode(t)
	n.ip("link add br0 type bridge", "link set br0 up")
	for _, p := range []string{"eth0", "eth1", "eth2"} {
		n.veth(p, "")
		n.ip("link set " + p + " master br0")
	}
	n.ip("ethtool -K eth2 tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off",
		"addr add 10.0.0.1/24 dev br0", "route add default via 10.0.0.254")
	e := egress(t, n, "10.9.0.2")
	if e.Device != "br0" || e.Kind != "bridge" || strings.Join(devices(e), ",") != "br0,eth0,eth1,eth2" {
		t.Errorf("got %+v walk %v, want br0 with every port", e.Hop, devices(e))
	}
	if e.Verdict.TunnelSegmentation || !strings.HasPrefix(e.Verdict.Blocker, "eth2") {
		t.Errorf("verdict %+v: eth2 lacks tunnel segmentation", e.Verdict)
	}
}

// ECMP: a multipath route over two NICs. The walk covers both hops (a flow
// may hash to either), the MTU is the smaller one, on-link never.
func TestEgressECMP(t *testing.T) {
	n := newNode(t)
	n.veth("eth0", "10.0.0.1/24")
	n.veth("eth1", "10.1.0.1/24")
	n.ip("link set eth1 mtu 1400", "link set eth1p mtu 1400",
		"ethtool -K eth1 tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off",
		"route add 10.9.0.0/16 nexthop via 10.0.0.254 dev eth0 nexthop via 10.1.0.254 dev eth1")
	e := egress(t, n, "10.9.0.2")
	if len(e.Hops) != 2 || e.Hops[0].Device != e.Device || e.AllOnLink() {
		t.Fatalf("hops %+v: want both next hops, the chosen one (%s) first, none on-link", e.Hops, e.Device)
	}
	if e.MTU != 1400 {
		t.Errorf("mtu %d, want the smaller hop's 1400", e.MTU)
	}
	got := strings.Join(devices(e), ",")
	if got != "eth0,eth1" && got != "eth1,eth0" {
		t.Errorf("walk %s, want both hop devices", got)
	}
	if e.Verdict.TunnelSegmentation {
		t.Errorf("verdict %+v: eth1 lacks tunnel segmentation", e.Verdict)
	}
	if !carries(t, n, e, "10.9.128.0/24") {
		t.Error("the multipath route covers 10.9.128.0/24 and leaves by the hops")
	}
}

// IPv6: the family's own route is followed.
func TestEgressIPv6(t *testing.T) {
	n := newNode(t)
	n.veth("eth0", "10.0.0.1/24")
	n.veth("eth1", "")
	n.ip("addr add fd00:1::1/64 dev eth1 nodad", "route add default via 10.0.0.254",
		"route add ::/0 via fd00:1::fe dev eth1")
	e := egress(t, n, "fd09::2")
	if e.Device != "eth1" || !e.Gateway.Equal(net.ParseIP("fd00:1::fe")) {
		t.Errorf("got %+v, want eth1 via fd00:1::fe (the IPv6 default, not the IPv4 one)", e.Hop)
	}
	if !carries(t, n, e, "fd44:0:0:3::/64") {
		t.Error("the IPv6 default route via eth1 carries an IPv6 pod CIDR")
	}
}
