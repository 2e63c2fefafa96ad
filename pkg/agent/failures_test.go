package agent

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
)

// TestPathFailures: a refused path backs off exponentially (capped), a
// success or the path's removal forgets it, and only a changed error is
// reported again.
func TestPathFailures(t *testing.T) {
	p := func(peer, cidr string) datapath.Path {
		return datapath.Path{Peer: peer, PodCIDR: netip.MustParsePrefix(cidr)}
	}
	good, bad := p("good", "10.244.1.0/24"), p("bad", "10.244.2.0/24")
	want := []datapath.Path{good, bad}
	now := time.Unix(1700000000, 0)
	f := pathFailures{}
	refused := map[string]error{bad.Key(): errors.New("Nexthop has invalid gateway")}
	if ch := f.update(want, want, refused, now); len(ch) != 1 || ch[0] != bad.Key() {
		t.Fatalf("first failure reported %v", ch)
	}
	if f.due(bad.Key(), now) || !f.due(bad.Key(), now.Add(time.Second)) || !f.due(good.Key(), now) {
		t.Errorf("backoff after one failure: %+v", f)
	}
	if ch := f.update(want, []datapath.Path{bad}, refused, now.Add(time.Second)); len(ch) != 0 {
		t.Errorf("same error reported again: %v", ch)
	}
	if d, ok := f.nextRetry(now.Add(time.Second)); !ok || d != 2*time.Second {
		t.Errorf("second backoff %v %v, want 2s", d, ok)
	}
	for range 30 {
		f.update(want, []datapath.Path{bad}, refused, now)
	}
	if d, _ := f.nextRetry(now); d != maxPathBackoff {
		t.Errorf("backoff not capped: %v", d)
	}
	f.update(want, []datapath.Path{bad}, nil, now)
	if len(f) != 0 {
		t.Errorf("success not forgotten: %+v", f)
	}
	f.update(want, want, refused, now)
	f.update([]datapath.Path{good}, nil, nil, now)
	if len(f) != 0 {
		t.Errorf("removed path not forgotten: %+v", f)
	}
}
