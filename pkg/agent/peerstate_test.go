package agent

import (
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/offload/offloadtypes"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// peersAgent is an agent with n off-link VXLAN peers decided in memory.
func peersAgent(t testing.TB, n int) (*Agent, []admission.Peer, view) {
	dir := t.TempDir()
	local := datapath.LocalNode{Name: "me", IPs: []netip.Addr{netip.MustParseAddr("192.168.250.250")}, PodCIDRs: []netip.Prefix{netip.MustParsePrefix("10.63.0.0/24")}}
	capable := offloadtypes.Verdict{TunnelSegmentation: true, TunnelSegmentationCsum: true}
	ag := &Agent{cfg: &config.Config{NodeName: "me", StateDir: dir, Decision: decision.Config{Mode: decision.ModeAuto}},
		decide: decision.Decide, log: slog.New(slog.DiscardHandler), metrics: NewMetrics(prometheus.NewRegistry()),
		local: local, up: datapath.Uplink{MTU: 1500, Verdict: capable}, facts: facts("192.168.250.250")}
	ag.facts.Verdict = capable
	var peers []admission.Peer
	for i := 1; i <= n; i++ {
		f := facts(netip.AddrFrom4([4]byte{192, 168, byte(i / 250), byte(i%250 + 1)}).String())
		f.Verdict = capable
		p := admission.Peer{Name: fmt.Sprintf("peer-%04d", i), Facts: f, PodCIDRs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(64 + i>>8), byte(i & 255), 0}), 24)}}
		p.IPs[0] = netip.MustParseAddr(f.Endpoints[0].IP)
		p.MACs[0] = mustMAC("02:00:00:00:00:0b")
		peers = append(peers, p)
	}
	rt := func(netip.Addr) (datapath.Route, error) {
		return datapath.Route{Gateway: netip.MustParseAddr("192.168.255.254"), DeviceIndex: 2}, nil
	}
	return ag, peers, ag.computePaths(local, ag.facts, ag.up, peers, rt)
}

// The peers file records each path's mode and the inputs that produced it,
// and rebuilding the input from the file gives the agent's decision again.
// It is rewritten only when its content changes.
func TestWritePeers(t *testing.T) {
	ag, peers, v := peersAgent(t, 3)
	ag.writePeers(peers, nil, v.paths)
	f, err := peerstate.Read(ag.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Node != "me" || len(f.Peers) != 3 || f.Config.Mode != decision.ModeAuto {
		t.Fatalf("peers file: %+v", f)
	}
	for i, p := range f.Peers {
		if p.Name != v.paths[i].Peer || p.Mode != v.paths[i].Mode || p.Mode != decision.ModeVXLAN || len(p.Paths) != 1 || p.Paths[0].OnLink {
			t.Errorf("peer %d: %+v, programmed %+v", i, p, v.paths[i])
		}
		if got := decision.Decide(f.Config, p.Input(p.Paths[0])); got.Mode != p.Mode || got.MTU != p.MTU || got.Rule != p.Rule {
			t.Errorf("%s: recomputed %s/%d rule %d, recorded %s/%d rule %d", p.Name, got.Mode, got.MTU, got.Rule, p.Mode, p.MTU, p.Rule)
		}
	}
	if _, path, ok := f.Lookup(netip.MustParseAddr("192.168.0.3")); !ok || path.PodCIDR != "10.64.2.0/24" {
		t.Errorf("lookup by node IP: %+v %v", path, ok)
	}
	st, _ := os.Stat(peerstate.PathIn(ag.cfg.StateDir))
	ag.writePeers(peers, nil, v.paths)
	if st2, _ := os.Stat(peerstate.PathIn(ag.cfg.StateDir)); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("unchanged content rewritten")
	}
	ag.facts.NativeProbe = map[string]bool{"peer-0001": true}
	peers[0].Facts.NativeProbe = map[string]bool{"me": true}
	v = ag.computePaths(ag.local, ag.facts, ag.up, peers, func(netip.Addr) (datapath.Route, error) {
		return datapath.Route{Gateway: netip.MustParseAddr("192.168.255.254"), DeviceIndex: 2}, nil
	})
	ag.writePeers(peers, nil, v.paths)
	f, _ = peerstate.Read(ag.cfg.StateDir)
	if p := f.Peers[0]; p.Mode != decision.ModeNative || p.Rule != 2 || !p.Local.NativeProbeOK || !p.Peer.NativeProbeOK {
		t.Errorf("after both probes: %+v", p)
	}
}

// With Node versions (the API), an unchanged converge skips the document,
// and a peer's new version, a probe result, a new facts generation, an
// uplink MTU or a peer leaving rewrites it. The steps run in a fixed order
// and each starts from its own freshly written agent, so none depends on
// what an earlier step changed.
func TestWritePeersKeyed(t *testing.T) {
	for _, step := range []struct {
		name    string
		rewrite bool
		change  func(ag *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path)
	}{
		{"nothing", false, func(_ *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			return peers, paths
		}},
		{"peer version", true, func(_ *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			peers[1].RV = "2"
			return peers, paths
		}},
		{"probe result", true, func(ag *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			ag.facts.NativeProbe = map[string]bool{"peer-0001": true}
			return peers, paths
		}},
		{"own facts", true, func(ag *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			ag.factsGen++
			return peers, paths
		}},
		{"uplink MTU", true, func(ag *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			ag.up.MTU = 9000
			return peers, paths
		}},
		{"peer gone", true, func(_ *Agent, peers []admission.Peer, paths []datapath.Path) ([]admission.Peer, []datapath.Path) {
			return peers[:1], paths[:1]
		}},
	} {
		t.Run(step.name, func(t *testing.T) {
			ag, peers, v := peersAgent(t, 2)
			if len(peers) != 2 || len(v.paths) != 2 {
				t.Fatalf("fixture: %d peers, %d paths, want 2 and 2", len(peers), len(v.paths))
			}
			for i := range peers {
				peers[i].RV = "1"
			}
			ag.writePeers(peers, nil, v.paths)
			p := peerstate.PathIn(ag.cfg.StateDir)
			if err := os.Remove(p); err != nil {
				t.Fatalf("first write: %v", err)
			}
			peers, paths := step.change(ag, peers, v.paths)
			ag.writePeers(peers, nil, paths)
			_, err := os.Stat(p)
			if written := err == nil; written != step.rewrite {
				t.Errorf("file written %v, want %v", written, step.rewrite)
			}
		})
	}
}

// BenchmarkWritePeersUnchanged is what every converge pays at 1000 peers
// when nothing changed (the key only); BenchmarkWritePeersDocument is the
// document a change costs.
func BenchmarkWritePeersUnchanged(b *testing.B) {
	ag, peers, v := peersAgent(b, 1000)
	for i := range peers {
		peers[i].RV = "1"
	}
	ag.writePeers(peers, nil, v.paths)
	b.ResetTimer()
	for range b.N {
		ag.writePeers(peers, nil, v.paths)
	}
}

func BenchmarkWritePeersDocument(b *testing.B) {
	ag, peers, v := peersAgent(b, 1000)
	ag.writePeers(peers, nil, v.paths)
	st, _ := os.Stat(peerstate.PathIn(ag.cfg.StateDir))
	b.ResetTimer()
	for range b.N {
		ag.last.peers = 0
		ag.writePeers(peers, nil, v.paths)
	}
	b.ReportMetric(float64(st.Size()), "file-bytes")
}
