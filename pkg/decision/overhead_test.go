package decision

import "testing"

func TestOverheads(t *testing.T) {
	for _, c := range []struct {
		mode Mode
		v6   bool
		want int
	}{
		{ModeVXLAN, false, 50}, {ModeVXLAN, true, 70},
		{ModeGeneve, false, 50}, {ModeGeneve, true, 70},
		{ModeNative, false, 0}, {ModeNative, true, 0}, {ModeUnreachable, false, 0},
	} {
		if got := Overhead(c.mode, c.v6); got != c.want {
			t.Errorf("Overhead(%s, ipv6=%v) = %d, want %d", c.mode, c.v6, got, c.want)
		}
	}
}

func TestPodMTU(t *testing.T) {
	native := Result{Mode: ModeNative}
	vx4 := Result{Mode: ModeVXLAN, Overhead: VXLANOverheadIPv4}
	vx6 := Result{Mode: ModeVXLAN, Overhead: VXLANOverheadIPv6}
	gone := Result{Mode: ModeUnreachable, Overhead: 999}
	for _, c := range []struct {
		name    string
		results []Result
		want    int
	}{
		{"no peers", nil, 1500},
		{"all native", []Result{native, native}, 1500},
		{"one vxlan", []Result{native, vx4}, 1450},
		{"ipv6 outer wins", []Result{vx4, vx6, native}, 1430},
		{"unreachable ignored", []Result{native, gone}, 1500},
	} {
		if got := PodMTU(c.results, 1500); got != c.want {
			t.Errorf("%s: PodMTU = %d, want %d", c.name, got, c.want)
		}
	}
}
