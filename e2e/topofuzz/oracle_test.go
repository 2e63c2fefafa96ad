package topofuzz

import (
	"reflect"
	"testing"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

func TestOracle(t *testing.T) {
	for _, c := range []struct {
		name string
		spec topo.Spec
		want map[string]bool // pair -> connect
	}{
		{"hub-edge", HubEdge(), map[string]bool{"edge|hub": true, "hub|n3": true, "edge|n3": false}},
		{"hub-edge pod routes", func() topo.Spec { s := HubEdge(); s.PodRouteSegments = []string{"*"}; return s }(),
			map[string]bool{"edge|hub": true, "hub|n3": true, "edge|n3": true}},
		{"tunnel underlay without pod routes", topo.Spec{Nodes: []topo.NodeSpec{
			{Name: "a", Segment: topo.SegA}, {Name: "x1", Segment: topo.SegX}, {Name: "x2", Segment: topo.SegX}}},
			map[string]bool{"a|x1": false, "a|x2": false, "x1|x2": true}},
		{"tunnel underlay, router routes x's pods", topo.Spec{PodRouteSegments: []string{topo.SegX}, Nodes: []topo.NodeSpec{
			{Name: "a", Segment: topo.SegA}, {Name: "x1", Segment: topo.SegX}}},
			map[string]bool{"a|x1": true}},
		// Two edges of one hub reach each other through it natively only
		// when both edges' own routes send pod CIDRs into their tunnels.
		{"two edges, one default by the transport", topo.Spec{Nodes: []topo.NodeSpec{
			{Name: "hub", Segment: topo.SegA}, {Name: "e1", Segment: topo.SegEdge, Hub: "hub", TunnelDefault: true},
			{Name: "e2", Segment: topo.SegEdge, Hub: "hub"}}},
			map[string]bool{"e1|hub": true, "e2|hub": true, "e1|e2": false}},
		{"two edges, one default by the transport, router routes pods", topo.Spec{PodRouteSegments: []string{"*"}, Nodes: []topo.NodeSpec{
			{Name: "hub", Segment: topo.SegA}, {Name: "e1", Segment: topo.SegEdge, Hub: "hub", TunnelDefault: true},
			{Name: "e2", Segment: topo.SegEdge, Hub: "hub"}}},
			map[string]bool{"e1|hub": true, "e2|hub": true, "e1|e2": true}},
		{"two edges, defaults through the tunnels", topo.Spec{Nodes: []topo.NodeSpec{
			{Name: "hub", Segment: topo.SegA}, {Name: "e1", Segment: topo.SegEdge, Hub: "hub", TunnelDefault: true},
			{Name: "e2", Segment: topo.SegEdge, Hub: "hub", TunnelDefault: true}}},
			map[string]bool{"e1|hub": true, "e2|hub": true, "e1|e2": true}},
		{"two NICs", topo.Spec{Nodes: []topo.NodeSpec{
			{Name: "two", Segment: topo.SegB, ClusterSegment: topo.SegA}, {Name: "a", Segment: topo.SegA}, {Name: "b", Segment: topo.SegB}}},
			map[string]bool{"a|two": true, "b|two": true, "a|b": true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]bool{}
			vs := Connect(c.spec)
			for k, v := range vs {
				got[k] = v.Connect
			}
			if !reflect.DeepEqual(got, c.want) {
				for k, v := range vs {
					t.Logf("%s: %+v", k, v)
				}
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	if v := Connect(HubEdge())[PairKey("hub", "edge")]; !v.Direct || !v.Tunnel {
		t.Errorf("hub-edge: %+v, want direct neighbours across a tunnel", v)
	}
	if v := Connect(topo.Spec{Nodes: []topo.NodeSpec{{Name: "two", Segment: topo.SegB, ClusterSegment: topo.SegA}, {Name: "b", Segment: topo.SegB}}})[PairKey("b", "two")]; v.Direct {
		t.Errorf("two-NIC node and a node on its default segment are not direct both ways: %+v", v)
	}
}

// Generate is a pure function of the seed, and every generated spec builds
// (Describe validates it).
func TestGenerate(t *testing.T) {
	for seed := int64(1); seed <= 200; seed++ {
		a, b := Generate(seed, "oo-tf-", 27), Generate(seed, "oo-tf-", 27)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
		if _, err := topo.Describe(a.Spec); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, a)
		}
		_ = Connect(a.Spec)
	}
}
