package podnet

import (
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

func ipc(cidr, gw string) *current.IPConfig {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err)
	}
	n.IP = ip
	return &current.IPConfig{Address: *n, Gateway: net.ParseIP(gw)}
}

func TestNewPlan(t *testing.T) {
	att := Attachment{Network: "pods", ContainerID: "abc", IfName: "eth0"}
	tests := []struct {
		name       string
		ips        []*current.IPConfig
		routes     []*types.Route
		podAddrs   []string
		hostAddrs  []string
		podRoutes  []string // "dst via gw"
		hostRoutes []string
	}{
		{name: "v4", ips: []*current.IPConfig{ipc("10.1.0.5/24", "10.1.0.1")},
			podAddrs: []string{"10.1.0.5/32"}, hostAddrs: []string{"10.1.0.1/32"},
			podRoutes:  []string{"10.1.0.1/32 via <nil>", "0.0.0.0/0 via 10.1.0.1"},
			hostRoutes: []string{"10.1.0.5/32"}},
		{name: "v6 ignores IPAM gateway", ips: []*current.IPConfig{ipc("fd00::5/64", "fd00::1")},
			podAddrs: []string{"fd00::5/128"}, hostAddrs: []string{"fe80::1/64"},
			podRoutes: []string{"::/0 via fe80::1"}, hostRoutes: []string{"fd00::5/128"}},
		{name: "dual with IPAM routes", ips: []*current.IPConfig{ipc("10.1.0.5/24", "10.1.0.1"), ipc("fd00::5/64", "")},
			routes:   []*types.Route{{Dst: mustNet("0.0.0.0/0")}, {Dst: mustNet("192.168.0.0/16")}, {Dst: mustNet("fd01::/64")}},
			podAddrs: []string{"10.1.0.5/32", "fd00::5/128"}, hostAddrs: []string{"10.1.0.1/32", "fe80::1/64"},
			podRoutes: []string{"10.1.0.1/32 via <nil>", "0.0.0.0/0 via 10.1.0.1", "::/0 via fe80::1",
				"192.168.0.0/16 via 10.1.0.1", "fd01::/64 via fe80::1"},
			hostRoutes: []string{"10.1.0.5/32", "fd00::5/128"}},
		{name: "v4 without IPAM gateway", ips: []*current.IPConfig{ipc("10.1.0.5/24", "")},
			podAddrs: []string{"10.1.0.5/32"}, hostAddrs: []string{"169.254.1.1/32"},
			podRoutes:  []string{"169.254.1.1/32 via <nil>", "0.0.0.0/0 via 169.254.1.1"},
			hostRoutes: []string{"10.1.0.5/32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(att, 1450, tc.ips, tc.routes)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "pod addrs", nets(p.PodAddrs), tc.podAddrs)
			eq(t, "host addrs", nets(p.HostAddrs), tc.hostAddrs)
			eq(t, "host routes", nets(p.HostRoutes), tc.hostRoutes)
			var rs []string
			for _, r := range p.PodRoutes {
				rs = append(rs, r.Dst.String()+" via "+r.GW.String())
			}
			eq(t, "pod routes", rs, tc.podRoutes)
			if len(p.PodGateways) != len(p.PodAddrs) || p.MTU != 1450 || p.HostVeth != att.HostVeth() {
				t.Errorf("plan %+v", p)
			}
		})
	}
	if _, err := NewPlan(att, 1500, nil, nil); err == nil {
		t.Error("empty IPAM result accepted")
	}
}

func TestAttachmentNames(t *testing.T) {
	a := Attachment{Network: "pods", ContainerID: strings.Repeat("f", 64), IfName: "eth0"}
	name := a.HostVeth()
	if len(name) != 15 || !strings.HasPrefix(name, HostVethPrefix) {
		t.Errorf("host veth %q: want 15 bytes starting with %q", name, HostVethPrefix)
	}
	if b := (Attachment{Network: "pods", ContainerID: a.ContainerID, IfName: "eth1"}); b.HostVeth() == name {
		t.Error("ifname does not change the host veth name")
	}
	got, ok := ParseAlias(a.Alias())
	if !ok || got != a {
		t.Errorf("ParseAlias(%q) = %+v, %v", a.Alias(), got, ok)
	}
	for _, bad := range []string{"", "offload-overlay", "other:pods:abc:eth0", "offload-overlay:pods::eth0", "offload-overlay:a:b:c:d"} {
		if _, ok := ParseAlias(bad); ok {
			t.Errorf("ParseAlias(%q) accepted", bad)
		}
	}
}

func mustNet(s string) net.IPNet {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		panic(err)
	}
	return *n
}

func nets(ns []*net.IPNet) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.String())
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
