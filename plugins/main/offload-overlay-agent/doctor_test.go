package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/offload-overlay/offload-overlay/internal/testenv/offloadtest"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/offload"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

func noEnv(string) string { return "" }

func TestParseDoctorFlags(t *testing.T) {
	o, format, err := parseDoctorFlags([]string{"--peer", "10.0.0.2", "-o", "json", "--mode", "vxlan",
		"--underlay-routes-pod-cidrs", "--allow-nested-encap", "--iface", "eth1", "--peer-pod-cidr", "10.244.2.0/24"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if format != "json" || !o.Peer.Equal(net.ParseIP("10.0.0.2")) || o.Iface != "eth1" || o.PeerPodCIDR.String() != "10.244.2.0/24" ||
		o.Config != (decision.Config{Mode: decision.ModeVXLAN, Encap: decision.ModeVXLAN, UnderlayRoutesPodCIDRs: true, AllowNestedEncap: true}) {
		t.Errorf("parsed %+v %q", o, format)
	}
	if o.StateDir != "/run/offload-overlay" {
		t.Errorf("default state dir %q", o.StateDir)
	}
	env := map[string]string{"OFFLOAD_OVERLAY_MODE": "native", "OFFLOAD_OVERLAY_ALLOW_NESTED_ENCAP": "true", "NODE_NAME": "n7",
		"OFFLOAD_OVERLAY_STATE_DIR": "/run/oo-test"}
	o, format, err = parseDoctorFlags(nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || format != "text" || o.Config.Mode != decision.ModeNative || !o.Config.AllowNestedEncap || o.Node != "n7" || o.StateDir != "/run/oo-test" {
		t.Errorf("environment defaults: %+v %q %v", o, format, err)
	}
	for _, bad := range [][]string{{"--peer", "nope"}, {"-o", "yaml"}, {"--mode", "fast"}, {"--encap", "gre"}, {"--peer-pod-cidr", "10.0.0.0"}, {"extra"}} {
		var stderr bytes.Buffer
		if code := doctorMain(bad, &bytes.Buffer{}, &stderr, noEnv); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", bad, code, stderr.String())
		}
	}
}

func TestDispatch(t *testing.T) {
	if code := dispatch([]string{"frobnicate"}); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
	if code := dispatch([]string{"doctor", "-h"}); code != 0 {
		t.Errorf("doctor -h: exit %d, want 0", code)
	}
}

// doctor runs end to end inside a node namespace, without any agent.
func TestDoctorInNodeNamespace(t *testing.T) {
	n := offloadtest.Build(t, offloadtest.VirtioLike)
	var stdout, stderr bytes.Buffer
	var code int
	err := n.Do(func(ns.NetNS) error {
		code = doctorMain([]string{"--peer", "10.9.0.2", "-o", "json", "--node", "node-a", "--state-dir", t.TempDir()}, &stdout, &stderr, noEnv)
		return nil
	})
	if err != nil || code != 0 {
		t.Fatalf("doctor: exit %d, %v, stderr %s", code, err, stderr.String())
	}
	var r doctor.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("doctor -o json is not JSON: %v\n%s", err, stdout.String())
	}
	if r.Node != "node-a" || r.Peer != "10.9.0.2" || r.Path[0].Name != "eth0" || r.Decision.Mode != decision.ModeVXLAN || r.Decision.MTU != 1450 ||
		r.Decision.Source != doctor.SourceLocalKernel ||
		r.Path[0].Features["tx-udp_tnl-segmentation"] != "off" || r.Verdict.TunnelSegmentation {
		t.Errorf("report: %s", stdout.String())
	}
	stdout.Reset()
	_ = n.Do(func(ns.NetNS) error {
		code = doctorMain([]string{"--peer", "10.0.0.2", "--state-dir", ""}, &stdout, &stderr, noEnv)
		return nil
	})
	if code != 0 || !strings.Contains(stdout.String(), "decision (mode auto): native, pod MTU 1500 (auto rule 1)") {
		t.Errorf("text report for an on-link peer: exit %d\n%s", code, stdout.String())
	}
}

// With the agent's peers file in the state directory ($OFFLOAD_OVERLAY_STATE_DIR,
// as in the agent's pod), doctor reports the agent's native-by-probe pair
// as native, where the local kernel alone says vxlan.
func TestDoctorWithAgentState(t *testing.T) {
	n := offloadtest.Build(t, offloadtest.VirtioLike)
	dir := t.TempDir()
	local := decision.Side{Verdict: offload.Verdict{}, Encaps: []string{"vxlan"}, UplinkMTU: 1500, NativeProbeOK: true}
	path := peerstate.Path{Family: 4, NodeIP: "10.9.0.2", PodCIDR: "10.244.3.0/24", Mode: decision.ModeNative, MTU: 1500, Rule: 2}
	f := &peerstate.File{Node: "node-a", Config: decision.Config{Mode: decision.ModeAuto}, Peers: []peerstate.Peer{{
		Name: "node-c", NodeIPs: []string{"10.9.0.2"}, PodCIDRs: []string{"10.244.3.0/24"}, Mode: decision.ModeNative, MTU: 1500, Rule: 2,
		Local: local, Peer: local, Paths: []peerstate.Path{path}}}}
	if err := peerstate.Write(dir, f); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"OFFLOAD_OVERLAY_STATE_DIR": dir}[k] }
	var stdout, stderr bytes.Buffer
	var code int
	_ = n.Do(func(ns.NetNS) error {
		code = doctorMain([]string{"--peer", "10.9.0.2", "-o", "json"}, &stdout, &stderr, env)
		return nil
	})
	var r doctor.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); code != 0 || err != nil {
		t.Fatalf("doctor: exit %d, %v, stderr %s", code, err, stderr.String())
	}
	if r.Decision.Mode != decision.ModeNative || r.Decision.Rule != 2 || r.Decision.Source != doctor.SourceAgentState || r.Decision.Agent.Name != "node-c" {
		t.Errorf("with the agent's peers file: %s", stdout.String())
	}
	stdout.Reset()
	_ = n.Do(func(ns.NetNS) error {
		code = doctorMain(nil, &stdout, &stderr, env)
		return nil
	})
	if code != 0 || !strings.Contains(stdout.String(), "node-c 10.9.0.2 (10.244.3.0/24): native, pod MTU 1500 (auto rule 2)") {
		t.Errorf("peers list: exit %d\n%s", code, stdout.String())
	}
}
