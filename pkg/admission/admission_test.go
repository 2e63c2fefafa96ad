package admission

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
)

func facts(ips ...string) nodeinfo.Facts {
	f := nodeinfo.Facts{Version: nodeinfo.FactsVersion, Encaps: []string{"vxlan"}, UplinkMTU: 1500}
	for _, ip := range ips {
		// the MAC real nodes derive from their node IP
		mac := overlay.VTEPMAC(netip.MustParseAddr(ip))
		f.Endpoints = append(f.Endpoints, nodeinfo.Endpoint{IP: ip, VTEPMAC: mac.String()})
	}
	return f
}

func mkNode(name string, age int, ann string, podCIDRs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name,
		CreationTimestamp: metav1.NewTime(time.Unix(1700000000+int64(age), 0))}}
	if ann != "" {
		n.Annotations = map[string]string{nodeinfo.AnnotationKey: ann}
	}
	n.Spec.PodCIDRs = podCIDRs
	// The kubelet lists the node's addresses: an honest node's endpoints.
	var f nodeinfo.Facts
	if json.Unmarshal([]byte(ann), &f) == nil {
		for _, ep := range f.Endpoints {
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ep.IP})
		}
	}
	return n
}

func annot(t *testing.T, f nodeinfo.Facts) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSelectPeersValidation(t *testing.T) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
	cluster := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}
	good := annot(t, facts("192.168.0.2"))
	badMAC := facts("192.168.0.9")
	badMAC.Endpoints[0].VTEPMAC = "01:00:5e:00:00:01"
	sameMAC := facts("192.168.0.21")
	sameMAC.Endpoints[0].VTEPMAC = facts("192.168.0.2").Endpoints[0].VTEPMAC // good's
	oldVersion := facts("192.168.0.10")
	oldVersion.Version = 99
	nodes := []*corev1.Node{
		mkNode("me", 0, "", "10.244.0.0/24"),
		mkNode("good", 1, good, "10.244.1.0/24"),
		mkNode("no-annotation", 2, "", "10.244.2.0/24"),
		mkNode("no-cidr", 3, annot(t, facts("192.168.0.4"))),
		mkNode("malformed", 4, "{not json", "10.244.4.0/24"),
		mkNode("overlaps-us", 5, annot(t, facts("192.168.0.5")), "10.244.0.128/25"),
		mkNode("overlaps-good", 6, annot(t, facts("192.168.0.6")), "10.244.1.0/24"),
		mkNode("multicast-ip", 7, annot(t, facts("224.0.0.5")), "10.244.7.0/24"),
		mkNode("loopback-ip", 8, annot(t, facts("127.0.0.1")), "10.244.8.0/24"),
		mkNode("bad-mac", 9, annot(t, badMAC), "10.244.9.0/24"),
		mkNode("version", 10, annot(t, oldVersion), "10.244.10.0/24"),
		mkNode("outside-cluster", 11, annot(t, facts("192.168.0.11")), "10.0.0.0/8"),
		mkNode("covers-node-ips", 12, annot(t, facts("10.244.12.5")), "10.244.12.0/24"),
		mkNode("hijack-underlay", 13, annot(t, facts("192.168.0.13")), "192.168.0.0/24"),
		mkNode("no-endpoint", 14, `{"v":1,"endpoints":[]}`, "10.244.14.0/24"),
		mkNode("host-bits", 15, good, "10.244.15.1/24"),
		mkNode("dual", 16, annot(t, facts("192.168.0.16", "fd00::16")), "10.244.16.0/24", "fd00:10:244:16::/64"),
		mkNode("bad-ip", 17, `{"v":1,"endpoints":[{"ip":"1.2.3"}]}`, "10.244.17.0/24"),
		mkNode("link-local", 18, annot(t, facts("169.254.0.5")), "10.244.18.0/24"),
		// a node IP inside good's pod CIDR must not knock good out
		mkNode("ip-in-good-cidr", 19, annot(t, facts("10.244.1.7")), "10.244.19.0/24"),
		mkNode("our-ip", 20, annot(t, facts("192.168.0.1")), "10.244.20.0/24"),
		mkNode("same-mac", 21, annot(t, sameMAC), "10.244.21.0/24"),
	}
	peers, ignored, waiting := selectPeers(local, cluster, nodes)
	var names []string
	for _, p := range peers {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "dual,good" {
		t.Errorf("peers = %v, want dual,good", names)
	}
	if strings.Join(waiting, ",") != "no-annotation,no-cidr" {
		t.Errorf("waiting = %v", waiting)
	}
	want := map[string]string{
		"malformed":       "malformed",
		"overlaps-us":     "overlaps 10.244.0.0/24 of this node",
		"overlaps-good":   "overlaps 10.244.1.0/24 of node good",
		"multicast-ip":    "not a unicast address",
		"loopback-ip":     "not a unicast address",
		"link-local":      "not a unicast address",
		"bad-mac":         "not unicast",
		"version":         "version 99",
		"outside-cluster": "outside the cluster CIDRs",
		"covers-node-ips": "node IP 10.244.12.5 lies inside the pod network 10.244.0.0/16",
		"ip-in-good-cidr": "node IP 10.244.1.7 lies inside the pod network",
		"our-ip":          "node IP 192.168.0.1 is this node's",
		"same-mac":        "is not the one derived from it",
		"hijack-underlay": "outside the cluster CIDRs",
		"no-endpoint":     "no endpoint",
		"host-bits":       "host bits",
		"bad-ip":          "endpoint IP",
	}
	got := map[string]string{}
	for _, ig := range ignored {
		got[ig.Name] = ig.Reason
	}
	for name, sub := range want {
		if !strings.Contains(got[name], sub) {
			t.Errorf("%s: reason %q does not contain %q", name, got[name], sub)
		}
	}
	if len(got) != len(want) {
		t.Errorf("ignored %d nodes, want %d: %v", len(got), len(want), got)
	}
}

// The older node keeps an overlapping CIDR regardless of list order, so an
// incremental event stream and a full resync reach the same result.
func TestSelectPeersOverlapIsOrderIndependent(t *testing.T) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
	older := mkNode("zz-older", 1, annot(t, facts("192.168.0.2")), "10.244.1.0/24")
	newer := mkNode("aa-newer", 2, annot(t, facts("192.168.0.3")), "10.244.1.0/25")
	for _, order := range [][]*corev1.Node{{older, newer}, {newer, older}} {
		peers, ignored, _ := selectPeers(local, nil, order)
		if len(peers) != 1 || peers[0].Name != "zz-older" || len(ignored) != 1 || ignored[0].Name != "aa-newer" {
			t.Fatalf("peers %v ignored %v", peers, ignored)
		}
	}
	// A newer, wider CIDR that would swallow an older peer's is refused too.
	wide := mkNode("wide", 4, annot(t, facts("192.168.0.4")), "10.244.0.0/22")
	small := mkNode("small", 1, annot(t, facts("192.168.0.5")), "10.244.2.128/25")
	peers, ignored, _ := selectPeers(datapath.LocalNode{Name: "me"}, nil, []*corev1.Node{wide, small})
	if len(peers) != 1 || peers[0].Name != "small" || len(ignored) != 1 || !strings.Contains(ignored[0].Reason, "overlaps 10.244.2.128/25 of node small") {
		t.Fatalf("wide CIDR: peers %v ignored %v", peers, ignored)
	}
	// Without a cluster CIDR, a hijacking pod CIDR is still refused because
	// it covers a node IP.
	hijack := mkNode("hijack", 3, annot(t, facts("192.168.1.7")), "192.168.0.0/16")
	_, ignored, _ = selectPeers(local, nil, []*corev1.Node{hijack})
	if len(ignored) != 1 || !strings.Contains(ignored[0].Reason, "contains the node IP") {
		t.Fatalf("hijack not refused: %v", ignored)
	}
}

func mustMAC(s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Without --cluster-cidr (optional) a peer's pod CIDR must still not take
// the default route, a huge prefix, link-local, loopback or multicast.
func TestSelectPeersHostilePodCIDRWithoutClusterCIDR(t *testing.T) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
	cases := map[string][]string{
		"default4":   {"0.0.0.0/0"},
		"default6":   {"10.244.9.0/24", "::/0"},
		"slash7":     {"64.0.0.0/7"},
		"link4":      {"169.254.0.0/16"},
		"covers-ll4": {"169.0.0.0/8"},
		"link6":      {"10.244.9.0/24", "fe80::/64"},
		"loop":       {"127.0.0.0/8"},
		"mcast":      {"239.0.0.0/8"},
		"mcast6":     {"10.244.9.0/24", "ff02::/16"},
		"mapped":     {"::ffff:10.244.9.0/120"},
	}
	for name, cidrs := range cases {
		t.Run(name, func(t *testing.T) {
			nodes := []*corev1.Node{mkNode("evil", 1, annot(t, facts("192.168.0.9")), cidrs...)}
			peers, ignored, _ := selectPeers(local, nil, nodes)
			if len(peers) != 0 || len(ignored) != 1 {
				t.Fatalf("pod CIDRs %v: peers %v ignored %v, want ignored", cidrs, peers, ignored)
			}
		})
	}
	ok := []*corev1.Node{mkNode("fine", 1, annot(t, facts("192.168.0.9", "fd00::9")), "10.244.9.0/24", "fd00:10:244:9::/64")}
	if peers, ignored, _ := selectPeers(local, nil, ok); len(peers) != 1 {
		t.Fatalf("ordinary peer rejected: %v", ignored)
	}
}

// selectPeers is Admit with the uncached parser.
func selectPeers(local datapath.LocalNode, clusterCIDRs []netip.Prefix, nodes []*corev1.Node) (peers []Peer, ignored []Ignored, waiting []string) {
	return Admit(Parse, local, clusterCIDRs, nodes)
}
