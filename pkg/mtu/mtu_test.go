package mtu

import "testing"

func TestOverhead(t *testing.T) {
	for _, c := range []struct {
		e    Encap
		v6   bool
		want int
	}{
		{VXLAN, false, 50}, {VXLAN, true, 70}, {Geneve, false, 50}, {Geneve, true, 70}, {None, false, 0}, {None, true, 0},
	} {
		if got := Overhead(c.e, c.v6); got != c.want {
			t.Errorf("Overhead(%q, ipv6=%v) = %d, want %d", c.e, c.v6, got, c.want)
		}
	}
}

func TestPodMTU(t *testing.T) {
	native := Path{MTU: 1500, Reachable: true, Native: true}
	vx4 := Path{MTU: 1500 - VXLANOverheadIPv4, Reachable: true}
	vx6 := Path{MTU: 1500 - VXLANOverheadIPv6, Reachable: true}
	gone := Path{MTU: 501}
	for _, c := range []struct {
		name          string
		paths         []Path
		want          int
		native, found bool
	}{
		{"no peers", nil, 0, false, false},
		{"only unreachable", []Path{gone}, 0, false, false},
		{"all native", []Path{native, native}, 1500, true, true},
		{"one vxlan", []Path{native, vx4}, 1450, false, true},
		{"ipv6 outer wins", []Path{vx4, vx6, native}, 1430, false, true},
		{"unreachable ignored", []Path{native, gone}, 1500, true, true},
	} {
		got, native, found := PodMTU(c.paths)
		if got != c.want || native != c.native || found != c.found {
			t.Errorf("%s: PodMTU = %d, %v, %v; want %d, %v, %v", c.name, got, native, found, c.want, c.native, c.found)
		}
	}
}
