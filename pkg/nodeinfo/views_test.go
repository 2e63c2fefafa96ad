package nodeinfo

import (
	"reflect"
	"testing"
)

// Peers behind the same route share one entry, and the document does not
// depend on the order the peers were seen in.
func TestPeerViews(t *testing.T) {
	gw := EgressView{Device: "eth0", Gateway: "10.0.0.254", MTU: 1500}
	hub := EgressView{Device: "e1", OnLink: true, Source: "172.31.10.1", MTU: 1450}
	var a, b Facts
	a.SetPeerView("n1", 4, gw)
	a.SetPeerView("edge", 4, hub)
	a.SetPeerView("n2", 4, gw)
	b.SetPeerView("edge", 4, hub)
	b.SetPeerView("n2", 4, gw)
	b.SetPeerView("n1", 4, gw)
	a.SortViews()
	b.SortViews()
	if len(a.Egresses) != 2 || !reflect.DeepEqual(a, b) {
		t.Fatalf("views differ by order or are not shared:\n%+v\n%+v", a, b)
	}
	if v, ok := a.PeerView("edge", 4); !ok || v.Device != "e1" || !v.Decision().Known {
		t.Errorf("edge view %+v %v", v, ok)
	}
	if _, ok := a.PeerView("edge", 6); ok {
		t.Error("no IPv6 view was published")
	}
}
