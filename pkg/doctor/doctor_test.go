package doctor_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// encaps is this lab kernel's probe result, fixed so that the golden files
// do not depend on the kernel the tests run on.
var encaps = []offload.EncapSupport{
	{Kind: "vxlan", OK: true},
	{Kind: "geneve", Error: fmt.Errorf("ip link add type geneve: Unknown device type: %w", offload.ErrKindUnsupported)},
}

type goldenCase struct {
	name     string
	underlay offloadtest.Underlay
	peer     net.IP
	podCIDR  *net.IPNet
	cfg      decision.Config
	// agent, when set, gives doctor a state directory with the peers file
	// it returns (nil: an empty state directory); local is this node's
	// side as doctor reads it, the agent's own record of itself.
	agent func(local decision.Side) *peerstate.File
	// stateDir: give doctor a state directory even when agent is nil.
	stateDir bool
}

func goldenCases() []goldenCase {
	var cs []goldenCase
	for _, u := range offloadtest.All {
		peer := offloadtest.OffLinkPeer
		if u == offloadtest.Veth6 {
			peer = offloadtest.OffLinkPeer6
		}
		cs = append(cs, goldenCase{name: string(u), underlay: u, peer: peer})
	}
	return append(cs,
		goldenCase{name: "veth-onlink", underlay: offloadtest.Veth, peer: offloadtest.OnLinkPeer},
		goldenCase{name: "veth-nopeer", underlay: offloadtest.Veth},
		goldenCase{name: "virtio-like-underlay-routes", underlay: offloadtest.VirtioLike, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{UnderlayRoutesPodCIDRs: true}},
		goldenCase{name: "vxlan-underlay-carries", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			podCIDR: offloadtest.RemotePods},
		goldenCase{name: "vxlan-underlay-other-cidr", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			podCIDR: offloadtest.OtherPods},
		goldenCase{name: "vxlan-underlay-forced-vxlan", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{Mode: decision.ModeVXLAN}},
		goldenCase{name: "vxlan-underlay-nested", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{AllowNestedEncap: true}},
		goldenCase{name: "veth-forced-geneve", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer,
			cfg: decision.Config{Mode: decision.ModeGeneve}},
		// With the agent's peers file: rule 2 and rule 3 pairs that the
		// local kernel alone reports as vxlan and unreachable.
		goldenCase{name: "virtio-like-agent-probed", underlay: offloadtest.VirtioLike, peer: offloadtest.OffLinkPeer,
			agent: agentFile(func(local decision.Side) decision.Side {
				local.NativeProbeOK = true
				return local
			}, agentPath("node-c", offloadtest.OffLinkPeer, "10.244.3.0/24", false, decision.ModeNative, 1500, 2))},
		goldenCase{name: "vxlan-underlay-agent-carries", underlay: offloadtest.VXLANUnderlay, peer: offloadtest.OffLinkPeer,
			agent: agentFile(func(local decision.Side) decision.Side {
				local.UnderlayCarriesPeerPodCIDR = true
				return local
			}, agentPath("node-c", offloadtest.OffLinkPeer, "10.244.3.0/24", false, decision.ModeNative, 1500, 3))},
		goldenCase{name: "veth-agent-peers", underlay: offloadtest.Veth,
			agent: agentFile(nil, agentPath("node-b", offloadtest.OnLinkPeer, "10.244.2.0/24", true, decision.ModeNative, 1500, 1),
				agentPath("node-c", offloadtest.OffLinkPeer, "10.244.3.0/24", false, decision.ModeVXLAN, 1450, 4))},
		goldenCase{name: "veth-agent-unknown-peer", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer,
			agent: agentFile(nil, agentPath("node-b", offloadtest.OnLinkPeer, "10.244.2.0/24", true, decision.ModeNative, 1500, 1))},
		goldenCase{name: "veth-agent-no-file", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer, stateDir: true},
		goldenCase{name: "veth-agent-other-flags", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer,
			agent: func(local decision.Side) *peerstate.File {
				f := agentFile(nil, agentPath("node-c", offloadtest.OffLinkPeer, "10.244.3.0/24", false, decision.ModeNative, 1500, 2))(local)
				f.Config.UnderlayRoutesPodCIDRs = true
				return f
			}},
		// What the agent left out: an ignored Node and a path the kernel
		// refused, listed without --peer and named in a --peer decision.
		goldenCase{name: "veth-agent-problems", underlay: offloadtest.Veth, agent: problemsFile},
		goldenCase{name: "veth-agent-failed-peer", underlay: offloadtest.Veth, peer: offloadtest.OffLinkPeer, agent: problemsFile},
	)
}

// agentPath is one recorded IPv4 path.
func agentPath(name string, ip net.IP, podCIDR string, onLink bool, mode decision.Mode, mtu, rule int) peerstate.Peer {
	return peerstate.Peer{Name: name, NodeIPs: []string{ip.String()}, PodCIDRs: []string{podCIDR}, Mode: mode, MTU: mtu, Rule: rule,
		Reasons: []string{"recorded by the agent"},
		Paths: []peerstate.Path{{Family: 4, NodeIP: ip.String(), PodCIDR: podCIDR, OnLink: onLink, Mode: mode, MTU: mtu, Rule: rule,
			Reasons: []string{"recorded by the agent"}}}}
}

// agentFile is a peers file whose peers are like this node; both ends'
// sides go through both (nil: unchanged), which sets probe or underlay facts.
func agentFile(both func(decision.Side) decision.Side, peers ...peerstate.Peer) func(decision.Side) *peerstate.File {
	return func(local decision.Side) *peerstate.File {
		f := &peerstate.File{AgentVersion: "test", Node: "node-a", Config: decision.Config{Mode: decision.ModeAuto},
			UpdatedAt: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)}
		for _, p := range peers {
			p.Local, p.Peer = local, local
			if both != nil {
				p.Local, p.Peer = both(local), both(local)
			}
			f.Peers = append(f.Peers, p)
		}
		return f
	}
}

// refusal is the kernel's error the agent recorded for node-c's path.
const refusal = "adding route 10.244.3.0/24 via 10.9.0.2: invalid argument"

// problemsFile is a peers file with node-b programmed, node-c's path
// refused by the kernel and two Nodes ignored.
func problemsFile(local decision.Side) *peerstate.File {
	failed := agentPath("node-c", offloadtest.OffLinkPeer, "10.244.3.0/24", false, decision.ModeVXLAN, 1450, 4)
	failed.Paths[0].Failed = refusal
	f := agentFile(nil, agentPath("node-b", offloadtest.OnLinkPeer, "10.244.2.0/24", true, decision.ModeNative, 1500, 1), failed)(local)
	f.Ignored = []peerstate.Ignored{
		{Name: "node-x", Reason: "endpoint 10.0.0.1 is an address of this node"},
		{Name: "node-y", Reason: "endpoint 10.9.0.77 is not one of the Node's status.addresses"},
	}
	return f
}

// build runs doctor for a case; with an agent state directory, the
// directory's name is replaced by STATEDIR in the outputs.
func build(t *testing.T, c goldenCase) (js, text []byte, r *doctor.Report) {
	t.Helper()
	n := offloadtest.Build(t, c.underlay)
	o := doctor.Options{NetNS: n, Node: "node-a", Peer: c.peer, PeerPodCIDR: c.podCIDR, Config: c.cfg, Encaps: encaps}
	if c.agent != nil || c.stateDir {
		o.StateDir = t.TempDir()
	}
	if c.agent != nil {
		bare, err := doctor.Build(doctor.Options{NetNS: n, Peer: c.peer, Encaps: encaps})
		if err != nil {
			t.Fatal(err)
		}
		local := decision.Side{Verdict: bare.Verdict, Encaps: []string{"vxlan"}, UplinkMTU: bare.Path[0].MTU}
		if err := peerstate.Write(o.StateDir, c.agent(local)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := doctor.Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if js, err = r.JSON(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text = b.Bytes()
	if o.StateDir != "" {
		js = bytes.ReplaceAll(js, []byte(o.StateDir), []byte("STATEDIR"))
		text = bytes.ReplaceAll(text, []byte(o.StateDir), []byte("STATEDIR"))
	}
	return js, text, r
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			js, text, _ := build(t, c)
			golden(t, c.name+".json", js)
			golden(t, c.name+".txt", text)
			checkStableKeys(t, js)
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkStableKeys asserts the keys the README promises to scripts.
func checkStableKeys(t *testing.T, js []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node", "peer", "path", "verdict", "decision", "segmentation", "encaps", "route"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report lacks key %q", k)
		}
	}
	dev := doc["path"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "kind", "driver", "mtu", "features"} {
		if _, ok := dev[k]; !ok {
			t.Errorf("path[0] lacks key %q", k)
		}
	}
	for _, k := range []string{"tunnelSegmentation", "tunnelSegmentationCsum", "underlayTunnel"} {
		if _, ok := doc["verdict"].(map[string]any)[k]; !ok {
			t.Errorf("verdict lacks key %q", k)
		}
	}
	for _, k := range []string{"mode", "mtu", "reasons", "source"} {
		if _, ok := doc["decision"].(map[string]any)[k]; !ok {
			t.Errorf("decision lacks key %q", k)
		}
	}
	for _, w := range dev["features"].(map[string]any) {
		s := w.(string)
		if !strings.HasPrefix(s, "on") && !strings.HasPrefix(s, "off") {
			t.Errorf("feature word %q is not ethtool's", s)
		}
	}
}

// The decision doctor reports follows the underlay as the issue describes.
func TestDoctorModes(t *testing.T) {
	want := map[string]decision.Mode{
		"veth": decision.ModeVXLAN, "virtio-like": decision.ModeVXLAN, "vxlan-underlay": decision.ModeUnreachable,
		"bridge": decision.ModeVXLAN, "bridge-mixed": decision.ModeVXLAN, "bridge-fdb": decision.ModeVXLAN, "macvlan": decision.ModeVXLAN,
		"macvlan-weak": decision.ModeVXLAN, "tun-underlay": decision.ModeUnreachable, "veth6": decision.ModeVXLAN,
		"veth-onlink": decision.ModeNative, "veth-nopeer": decision.ModeVXLAN,
		"virtio-like-underlay-routes": decision.ModeNative, "vxlan-underlay-carries": decision.ModeNative,
		"vxlan-underlay-other-cidr": decision.ModeUnreachable, "vxlan-underlay-forced-vxlan": decision.ModeUnreachable,
		"vxlan-underlay-nested": decision.ModeVXLAN, "veth-forced-geneve": decision.ModeUnreachable,
		"virtio-like-agent-probed": decision.ModeNative, "vxlan-underlay-agent-carries": decision.ModeNative,
		"veth-agent-peers": decision.ModeVXLAN, "veth-agent-unknown-peer": decision.ModeVXLAN,
		"veth-agent-no-file": decision.ModeVXLAN, "veth-agent-other-flags": decision.ModeVXLAN,
		"veth-agent-problems": decision.ModeVXLAN, "veth-agent-failed-peer": decision.ModeVXLAN,
	}
	for _, c := range goldenCases() {
		b, err := os.ReadFile(filepath.Join("testdata", c.name+".json"))
		if err != nil {
			t.Skipf("golden files not generated: %v", err)
		}
		var r doctor.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if r.Decision.Mode != want[c.name] {
			t.Errorf("%s: mode %s, want %s", c.name, r.Decision.Mode, want[c.name])
		}
	}
}

// Where the agent's record decides, doctor's source, rule and agent record
// follow it; where it does not, doctor says why in a reason.
func TestDoctorAgentState(t *testing.T) {
	want := map[string]struct {
		source string
		rule   int
		reason string
		peers  int
	}{
		"virtio-like-agent-probed":     {doctor.SourceAgentState, 2, "native probe: this node ok, node-c ok", 0},
		"vxlan-underlay-agent-carries": {doctor.SourceAgentState, 3, "tunnel underlay carries the other's pod CIDR: this node yes, node-c yes", 0},
		"veth-agent-peers":             {doctor.SourceLocalKernel, 4, "see the peers list", 2},
		"veth-agent-unknown-peer":      {doctor.SourceLocalKernel, 4, "is no peer in the agent's peers file", 0},
		"veth-agent-no-file":           {doctor.SourceLocalKernel, 4, "no agent peers file STATEDIR/peers.json", 0},
		"veth-agent-other-flags":       {doctor.SourceAgentState, 4, "the agent programmed native (rule 2)", 0},
		"veth":                         {doctor.SourceLocalKernel, 4, "peer facts assumed equal", 0},
	}
	for _, c := range goldenCases() {
		w, ok := want[c.name]
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			js, _, r := build(t, c)
			if r.Decision.Source != w.source || r.Decision.Rule != w.rule || len(r.Peers) != w.peers ||
				!strings.Contains(string(js), w.reason) || (r.Decision.Agent != nil) != (w.source == doctor.SourceAgentState) {
				t.Errorf("source %s rule %d peers %d agent %+v, want %+v:\n%s", r.Decision.Source, r.Decision.Rule, len(r.Peers), r.Decision.Agent, w, js)
			}
		})
	}
}

// Doctor lists every Node the agent ignored and every path the kernel
// refused, in JSON and text, and a --peer decision on a refused path says
// it is not programmed and retried.
func TestDoctorProblems(t *testing.T) {
	cases := map[string]goldenCase{}
	for _, c := range goldenCases() {
		cases[c.name] = c
	}
	t.Run("list", func(t *testing.T) {
		js, text, r := build(t, cases["veth-agent-problems"])
		if len(r.Ignored) != 2 || r.Ignored[0].Name != "node-x" || r.Ignored[1].Reason == "" {
			t.Errorf("ignored %+v, want node-x and node-y with reasons", r.Ignored)
		}
		want := doctor.FailedPath{Peer: "node-c", Family: 4, NodeIP: offloadtest.OffLinkPeer.String(), PodCIDR: "10.244.3.0/24",
			Mode: decision.ModeVXLAN, Error: refusal, Retry: doctor.RetryBackoff}
		if len(r.FailedPaths) != 1 || r.FailedPaths[0] != want {
			t.Errorf("failedPaths %+v, want [%+v]", r.FailedPaths, want)
		}
		for _, p := range r.Peers {
			if (p.Failed != "") != (p.Name == "node-c") {
				t.Errorf("peers[%s].failed %q", p.Name, p.Failed)
			}
		}
		var doc map[string]any
		if err := json.Unmarshal(js, &doc); err != nil {
			t.Fatal(err)
		}
		ig := doc["ignored"].([]any)[0].(map[string]any)
		fp := doc["failedPaths"].([]any)[0].(map[string]any)
		for _, k := range []string{"name", "reason"} {
			if _, ok := ig[k]; !ok {
				t.Errorf("ignored[0] lacks key %q", k)
			}
		}
		for _, k := range []string{"peer", "family", "nodeIP", "podCIDR", "mode", "error", "retry"} {
			if _, ok := fp[k]; !ok {
				t.Errorf("failedPaths[0] lacks key %q", k)
			}
		}
		for _, s := range []string{"ignored nodes", "node-x: endpoint 10.0.0.1 is an address of this node", "failed paths",
			"node-c IPv4 " + offloadtest.OffLinkPeer.String() + " (10.244.3.0/24, vxlan): " + refusal, "retried with backoff"} {
			if !strings.Contains(string(text), s) {
				t.Errorf("text lacks %q:\n%s", s, text)
			}
		}
	})
	t.Run("peer", func(t *testing.T) {
		js, _, r := build(t, cases["veth-agent-failed-peer"])
		if r.Decision.Agent == nil || r.Decision.Agent.Failed != refusal || !strings.Contains(string(js), "the kernel refused this path") {
			t.Errorf("decision.agent %+v, want failed %q and a reason:\n%s", r.Decision.Agent, refusal, js)
		}
	})
	t.Run("none", func(t *testing.T) {
		js, text, r := build(t, cases["veth-agent-peers"])
		if r.Ignored != nil || r.FailedPaths != nil || strings.Contains(string(js), "failedPaths") ||
			strings.Contains(string(text), "failed paths") || strings.Contains(string(text), "ignored nodes") {
			t.Errorf("a clean peers file reports problems:\n%s\n%s", js, text)
		}
	})
}
