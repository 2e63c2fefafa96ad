package topofuzz

import (
	"slices"
	"sort"
	"testing"

	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// blocks lists the building blocks a case uses.
func blocks(c Case) []string {
	set := map[string]bool{"family " + c.Families: true}
	switch {
	case len(c.Spec.PodRouteSegments) == 0:
		set["no pod routes"] = true
	case slices.Contains(c.Spec.PodRouteSegments, "*"):
		set["pod routes everywhere"] = true
	default:
		set["pod routes on some segments"] = true
	}
	for _, n := range c.Spec.Nodes {
		switch {
		case n.Hub != "" && n.TunnelDefault:
			set["edge, default through the tunnel"] = true
		case n.Hub != "":
			set["edge, lab prefixes through the tunnel"] = true
		case n.Segment == topo.SegX:
			set["tunnel underlay"] = true
		case n.ClusterSegment != "":
			set["two NICs"] = true
		}
		if n.BridgeUplink && n.GuestPort {
			set["bridge with a guest port"] = true
		}
		if n.NoTunnelOffload {
			set["no tunnel segmentation"] = true
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var allBlocks = []string{"family ipv4", "family dual", "family ipv6", "no pod routes", "pod routes everywhere", "pod routes on some segments",
	"edge, default through the tunnel", "edge, lab prefixes through the tunnel", "tunnel underlay", "two NICs", "bridge with a guest port", "no tunnel segmentation"}

// The seeds `make test` runs use every building block between them.
func TestDefaultSeedsCoverBlocks(t *testing.T) {
	got := map[string]bool{}
	for _, s := range DefaultSeeds {
		c := Generate(s, Prefix, Site)
		for _, b := range blocks(c) {
			got[b] = true
		}
		t.Logf("seed %d (%d nodes): %v", s, len(c.Spec.Nodes), blocks(c))
	}
	for _, b := range allBlocks {
		if !got[b] {
			t.Errorf("no default seed uses %q", b)
		}
	}
}
