package admission

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
)

// TestHostilePeers: each hostile Node is ignored with its reason, whatever
// its age (the hostile ones are older than the honest ones, so "older
// wins" cannot save the honest ones), and every honest node is admitted.
// IPv6 has no cluster CIDR here: the endpoint inside another node's pod
// CIDR blames the claimant, not the owner.
func TestHostilePeers(t *testing.T) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1"), netip.MustParseAddr("fd00::1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24"), netip.MustParsePrefix("fd00:244::/64")}}
	cluster := []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")} // no IPv6 cluster CIDR
	unlisted := mkNode("x-unlisted", 1, annot(t, facts("192.168.0.30")), "10.244.30.0/24")
	unlisted.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.31"}}
	stolen := facts("192.168.0.32")
	stolen.Endpoints[0].VTEPMAC = overlay.VTEPMAC(netip.MustParseAddr("192.168.0.2")).String() // honest-a's
	three := facts("192.168.0.33", "fd00::33")
	three.Endpoints = append(three.Endpoints, nodeinfo.Endpoint{IP: "192.168.0.34"})
	hostile := []*corev1.Node{
		unlisted,
		mkNode("x-stolen-mac", 2, annot(t, stolen), "10.244.32.0/24"),
		mkNode("x-oversize", 3, `{"v":1,"pad":"`+strings.Repeat("A", MaxAnnotationBytes)+`"}`, "10.244.33.0/24"),
		mkNode("x-three-endpoints", 4, annot(t, three), "10.244.34.0/24"),
		mkNode("x-same-ip", 5, annot(t, facts("192.168.0.3")), "10.244.35.0/24"), // honest-b's IP, but older
		mkNode("x-inside-b", 6, annot(t, facts("192.168.0.36", "fd00:244:b::7")), "10.244.36.0/24", "fd00:244:36::/64"),
	}
	honest := []*corev1.Node{
		mkNode("honest-a", 100, annot(t, facts("192.168.0.2", "fd00::2")), "10.244.1.0/24", "fd00:244:a::/64"),
		mkNode("honest-b", 101, annot(t, facts("192.168.0.3", "fd00::3")), "10.244.2.0/24", "fd00:244:b::/64"),
	}
	want := map[string]string{
		"x-unlisted":        "not one of the Node's status.addresses",
		"x-stolen-mac":      "not the one derived from it",
		"x-oversize":        "more than the",
		"x-three-endpoints": "at most one per family",
		"x-inside-b":        "lies inside the pod CIDR fd00:244:b::/64 of node honest-b",
	}
	peers, ignored, _ := Admit(Parse, local, cluster, append(hostile, honest...))
	got := map[string]string{}
	for _, ig := range ignored {
		got[ig.Name] = ig.Reason
	}
	for name, reason := range want {
		if !strings.Contains(got[name], reason) {
			t.Errorf("%s: reason %q, want %q", name, got[name], reason)
		}
	}
	var names []string
	for _, p := range peers {
		names = append(names, p.Name)
	}
	// x-same-ip is older than honest-b and both claim 192.168.0.3: the
	// older keeps it (the kubelet of one of them lies; both list it).
	if fmt.Sprint(names) != "[honest-a x-same-ip]" || !strings.Contains(got["honest-b"], "node IP 192.168.0.3 is also node x-same-ip's") &&
		!strings.Contains(got["honest-b"], "is also node x-same-ip's") {
		t.Errorf("peers %v, honest-b: %q", names, got["honest-b"])
	}
}

// TestKernelEndpointCheck: a candidate whose endpoint this node's kernel
// refuses (EndpointCheck) is ignored with the check's reason; the others
// are admitted.
func TestKernelEndpointCheck(t *testing.T) {
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.0.1")},
		PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/24")}}
	nodes := []*corev1.Node{
		mkNode("bcast", 1, annot(t, facts("192.168.0.255")), "10.244.1.0/24"),
		mkNode("fine", 2, annot(t, facts("192.168.0.2")), "10.244.2.0/24"),
	}
	check := func(ip netip.Addr) error {
		if ip == netip.MustParseAddr("192.168.0.255") {
			return errors.New("endpoint 192.168.0.255 is the broadcast address of this node's subnet 192.168.0.0/24")
		}
		return nil
	}
	peers, ignored, _ := AdmitChecked(Parse, local, nil, nodes, check)
	if len(peers) != 1 || peers[0].Name != "fine" || len(ignored) != 1 || !strings.Contains(ignored[0].Reason, "broadcast") {
		t.Fatalf("peers %v ignored %v", peers, ignored)
	}
}
