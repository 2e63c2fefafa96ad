package doctor_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// The agent's BGP record reaches both outputs: sessions, and with
// --bgp-import the learnt routes, accepted and rejected with the rule,
// under the JSON keys the README documents (bgp.learnt, bgp.rejected).
func TestBGPLearntRoutes(t *testing.T) {
	mp, ma := netip.MustParsePrefix, netip.MustParseAddr
	router := ma("192.168.1.1")
	r := &doctor.Report{Node: "n1", BGP: &peerstate.BGP{
		Announced: []string{"10.244.1.0/24"}, Announcing: true,
		Sessions: []bgptypes.Session{{Peer: router, PeerAS: 65000, LocalAS: 64512, State: bgptypes.StateEstablished, PrefixesSent: 1, PrefixesReceived: 2}},
		Learnt:   []bgptypes.Route{{Prefix: mp("10.244.9.0/24"), NextHop: router, Peer: router}},
		Rejected: []bgptypes.Rejected{{Route: bgptypes.Route{Prefix: mp("10.244.1.0/24"), NextHop: router, Peer: router}, Reason: "overlaps this node's pod CIDR 10.244.1.0/24"}},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"learnt routes: 1 accepted, 1 rejected",
		"10.244.9.0/24 via 192.168.1.1 from 192.168.1.1: accepted",
		"10.244.1.0/24 via 192.168.1.1 from 192.168.1.1: rejected, overlaps this node's pod CIDR 10.244.1.0/24",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, b.String())
		}
	}
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BGP struct {
			Learnt   []map[string]string `json:"learnt"`
			Rejected []map[string]string `json:"rejected"`
		} `json:"bgp"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	l, rj := doc.BGP.Learnt, doc.BGP.Rejected
	if len(l) != 1 || l[0]["prefix"] != "10.244.9.0/24" || l[0]["nextHop"] != "192.168.1.1" || l[0]["peer"] != "192.168.1.1" {
		t.Errorf("bgp.learnt: %v\n%s", l, js)
	}
	if len(rj) != 1 || rj[0]["prefix"] != "10.244.1.0/24" || !strings.Contains(rj[0]["reason"], "pod CIDR") {
		t.Errorf("bgp.rejected: %v\n%s", rj, js)
	}

	// Without --bgp-import nothing is learnt: no line, no key.
	r.BGP.Learnt, r.BGP.Rejected = nil, nil
	b.Reset()
	r.WriteText(&b)
	js, _ = r.JSON()
	if strings.Contains(b.String(), "learnt routes") || bytes.Contains(js, []byte(`"learnt"`)) || bytes.Contains(js, []byte(`"rejected"`)) {
		t.Errorf("import off: learnt routes shown:\n%s\n%s", b.String(), js)
	}
}
