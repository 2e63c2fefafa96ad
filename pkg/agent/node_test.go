package agent

import (
	"encoding/json"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// facts gives one VTEP MAC per node IP, as overlay.VTEPMAC gives real nodes.
func facts(ips ...string) nodeinfo.Facts {
	f := nodeinfo.Facts{Version: nodeinfo.FactsVersion, Encaps: []string{"vxlan"}, UplinkMTU: 1500}
	for _, ip := range ips {
		// one MAC per node IP, as overlay.VTEPMAC gives real nodes
		b := netip.MustParseAddr(ip).AsSlice()
		mac := net.HardwareAddr{0x02, 0x00, b[len(b)-4], b[len(b)-3], b[len(b)-2], b[len(b)-1]}
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

func mustMAC(s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestLocalNodeFrom(t *testing.T) {
	n := mkNode("me", 0, "")
	if _, err := localNodeFrom(n, nil); err != ErrNoPodCIDR {
		t.Fatalf("no pod CIDR: %v", err)
	}
	n.Spec.PodCIDRs = []string{"fd00:1::/64", "10.244.3.0/24"}
	if _, err := localNodeFrom(n, nil); err != ErrNoNodeIP {
		t.Fatalf("no node IP: %v", err)
	}
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "me"},
		{Type: corev1.NodeInternalIP, Address: "fd00::5"},
		{Type: corev1.NodeExternalIP, Address: "203.0.113.5"},
		{Type: corev1.NodeInternalIP, Address: "192.168.0.5"},
		{Type: corev1.NodeInternalIP, Address: "192.168.0.6"},
	}
	l, err := localNodeFrom(n, []netip.Addr{netip.MustParseAddr("fd00::99")})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.IPs; len(got) != 2 || got[0].String() != "192.168.0.5" || got[1].String() != "fd00::99" {
		t.Errorf("IPs = %v", got)
	}
	if got := l.PodCIDRs; got[0].String() != "10.244.3.0/24" || got[1].String() != "fd00:1::/64" {
		t.Errorf("PodCIDRs = %v", got)
	}
	if g := netaddr.Gateway(l.PodCIDRs[0]); g.String() != "10.244.3.1" {
		t.Errorf("gateway = %s", g)
	}
	if g := netaddr.Gateway(l.PodCIDRs[1]); g.String() != "fd00:1::1" {
		t.Errorf("gateway = %s", g)
	}
}
