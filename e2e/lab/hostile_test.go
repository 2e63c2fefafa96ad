package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
	"github.com/offload-overlay/offload-overlay/pkg/endpoint/endpointnl"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/overlay"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// hostile is a Node object no machine stands behind, whose published facts
// attack the honest nodes; want is what every honest node's report says.
type hostile struct {
	name       string
	annotation string // raw annotation value
	addresses  []string
	podCIDRs   []string
	want       string
}

// facts returns an annotation with one endpoint per IP (VTEP MAC derived
// from it unless mac is given).
func facts(t *testing.T, mac string, ips ...string) string {
	t.Helper()
	f := nodeinfo.Facts{Version: nodeinfo.FactsVersion, Encaps: []string{"vxlan"}, UplinkMTU: 1500}
	for _, ip := range ips {
		m := mac
		if m == "" {
			m = overlay.VTEPMAC(netip.MustParseAddr(ip)).String()
		}
		f.Endpoints = append(f.Endpoints, nodeinfo.Endpoint{IP: ip, VTEPMAC: m})
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// broadcastOf returns the broadcast address of the subnet holding n's
// IPv4 address, read from n's kernel.
func broadcastOf(t *testing.T, n *Node) string {
	t.Helper()
	h, err := topo.Handle(n.Netns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := endpointnl.ReadLocal(h)
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr(n.IPv4)
	for _, s := range l.Subnets {
		if s.Contains(ip) && s.Addr().Is4() {
			return netaddr.Last(s).String()
		}
	}
	t.Fatalf("no subnet of %s holds %s", n.Name, ip)
	return ""
}

// TestE2EHostilePeers: next to two honest nodes, Node objects claim a local
// address of an honest node, a subnet broadcast address, an endpoint not
// among their addresses, an honest node's VTEP MAC, an endpoint inside an
// honest node's pod CIDR, an oversize and a malformed annotation. Every
// honest node stays ready, its pods reach the other's, and it reports
// every hostile peer with the reason (peers file, log, PeerIgnored Event).
func TestE2EHostilePeers(t *testing.T) {
	l := upAgentLab(t, 1, false)
	n1, n2 := l.NodeByName("n1"), l.NodeByName("n2")
	ctx := context.Background()
	v6In := func(n *Node) string { // an address inside n's IPv6 pod CIDR
		for _, p := range n.PodCIDRs {
			if p.Addr().Is6() {
				return p.Addr().Next().Next().Next().String()
			}
		}
		t.Fatalf("%s has no IPv6 pod CIDR", n.Name)
		return ""
	}
	spare := func(n *Node, k int) string { // an unused address on n's segment
		a := netip.MustParseAddr(n.IPv4).As4()
		a[3] = byte(200 + k)
		return netip.AddrFrom4(a).String()
	}
	pods := func(k int) []string {
		return []string{fmt.Sprintf("10.244.%d.0/24", 100+k), fmt.Sprintf("fd44:0:0:%x::/64", 100+k)}
	}
	bcast := broadcastOf(t, n1)
	cases := []hostile{
		{"x-claims-n1-ip", facts(t, "", n1.IPv4), []string{n1.IPv4}, pods(1), n1.IPv4},
		{"x-claims-broadcast", facts(t, "", bcast), []string{bcast}, pods(2), "broadcast"},
		{"x-not-listed", facts(t, "", spare(n1, 3)), []string{spare(n1, 4)}, pods(3), "status.addresses"},
		{"x-steals-mac", facts(t, overlay.VTEPMAC(netip.MustParseAddr(n1.IPv4)).String(), spare(n1, 5)), []string{spare(n1, 5)}, pods(4), "VTEP MAC"},
		{"x-inside-pod-cidr", facts(t, "", v6In(n2)), []string{v6In(n2)}, pods(5), "pod"},
		{"x-oversize", `{"v":1,"pad":"` + strings.Repeat("A", 64<<10) + `"}`, []string{spare(n1, 6)}, pods(6), "bytes"},
		{"x-malformed", `{"v":1,"endpoints":[{"ip":`, []string{spare(n1, 7)}, pods(7), "malformed"},
	}
	for _, h := range cases {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: h.name, Annotations: map[string]string{nodeinfo.AnnotationKey: h.annotation}},
			Spec: corev1.NodeSpec{PodCIDR: h.podCIDRs[0], PodCIDRs: h.podCIDRs}}
		created, err := l.api.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating %s: %v", h.name, err)
		}
		for _, a := range h.addresses {
			created.Status.Addresses = append(created.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a})
		}
		if _, err := l.api.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("addresses of %s: %v", h.name, err)
		}
	}
	for _, n := range []*Node{n1, n2} {
		waitReported(t, l, n, cases)
		st, err := state.Read(n.Dir)
		if err != nil || !st.Ready {
			t.Errorf("%s not ready next to hostile peers: %+v %v\n%s", n.Name, st, err, l.AgentLog(n, 30))
		}
	}
	checkReachability(t, l)
}

// waitReported waits until n's agent reports every hostile case with the
// case's reason in its peers file (what doctor reads; the agent also logs
// each and records a PeerIgnored Event, which the API server's event
// correlator may fold into a "combined from similar events" one).
func waitReported(t *testing.T, l *Lab, n *Node, cases []hostile) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var missing, got []string
		f, err := peerstate.Read(n.Dir)
		for _, h := range cases {
			found := false
			if err == nil {
				for _, ig := range f.Ignored {
					if ig.Name == h.name && strings.Contains(ig.Reason, h.want) {
						found = true
					}
				}
			}
			if !found {
				missing = append(missing, h.name+" ("+h.want+")")
			}
		}
		if len(missing) == 0 {
			evs, err := l.api.Client.CoreV1().Events("default").List(context.Background(),
				metav1.ListOptions{FieldSelector: "involvedObject.name=" + n.Name + ",reason=PeerIgnored"})
			if err == nil && len(evs.Items) > 0 {
				return
			}
			missing = append(missing, "a PeerIgnored Event")
		}
		if time.Now().After(deadline) {
			if f != nil {
				for _, ig := range f.Ignored {
					got = append(got, ig.Name+": "+ig.Reason)
				}
			}
			t.Fatalf("%s did not report %v (peers file: %v); ignored:\n%s\nagent log:\n%s", n.Name, missing, err, strings.Join(got, "\n"), l.AgentLog(n, 40))
		}
		time.Sleep(500 * time.Millisecond)
	}
}
