package lab

import (
	"slices"
	"testing"
)

func TestPodCIDR(t *testing.T) {
	for _, c := range []struct {
		cluster string
		i       int
		want    string
		bad     bool
	}{
		{"10.244.0.0/16", 1, "10.244.1.0/24", false},
		{"10.244.0.0/16", 40, "10.244.40.0/24", false},
		{"fd44::/48", 3, "fd44:0:0:3::/64", false},
		{"10.244.0.0/24", 1, "", true},
		{"fd44::/64", 1, "", true},
		{"bogus", 1, "", true},
	} {
		got, err := podCIDR(c.cluster, c.i)
		if (err != nil) != c.bad || (!c.bad && got.String() != c.want) {
			t.Errorf("podCIDR(%q, %d) = %v, %v; want %q (error %v)", c.cluster, c.i, got, err, c.want, c.bad)
		}
	}
}

func TestDecisionFlags(t *testing.T) {
	l := &Lab{cfg: Config{AgentArgs: []string{"--vni", "7", "--mode", "vxlan", "--underlay-routes-pod-cidrs", "--allow-nested-encap=true", "--metrics-addr", ":1"}}}
	want := []string{"--mode", "vxlan", "--underlay-routes-pod-cidrs", "--allow-nested-encap=true"}
	if got := l.decisionFlags(); !slices.Equal(got, want) {
		t.Fatalf("decisionFlags = %v, want %v", got, want)
	}
}
