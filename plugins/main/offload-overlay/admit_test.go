package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// TestAddWaitsForReadyAgent: without a state file, or with one that says
// not ready (a starting or crash-looping agent), ADD fails with code 11
// and the agent's reason and leaves nothing behind; once the state is
// ready the same ADD succeeds. A standalone config is admitted throughout.
func TestAddWaitsForReadyAgent(t *testing.T) {
	requireRoot(t)
	refCNIDir(t)
	host, dataDir, stateDir := newNS(t), t.TempDir(), t.TempDir()
	conf := testConf{Version: "1.1.0", Name: "gated", DataDir: dataDir, StateDir: stateDir}.bytes(t)
	refused := func(want string) {
		t.Helper()
		p := newPod(t, "ctr-gated", conf)
		err := p.add(t, host)
		var te *types.Error
		if !errors.As(err, &te) || te.Code != types.ErrTryAgainLater || !strings.Contains(te.Msg, want) {
			t.Fatalf("ADD: got %v, want code 11 with %q", err, want)
		}
		assertNoTrace(t, host, p, dataDir, "gated", 0)
	}
	refused("has not written its state")
	writeState(t, stateDir, &state.NodeState{Reason: "agent starting", PodCIDRs: []string{"10.87.0.0/24"}})
	refused("not ready: agent starting")
	if _, err := state.AfterRestart(stateDir, "n"); err != nil {
		t.Fatal(err)
	}
	writeState(t, stateDir, &state.NodeState{Ready: true, MTU: 1400, PodCIDRs: []string{"10.87.0.0/24"}})
	if _, err := state.AfterRestart(stateDir, "n"); err != nil { // the agent that wrote it crashed
		t.Fatal(err)
	}
	refused("without a clean stop")

	standalone := newPod(t, "ctr-standalone", testConf{Version: "1.1.0", Name: "alone", MTU: 1400, DataDir: dataDir,
		Subnets: []string{"10.88.0.0/24"}}.bytes(t))
	if err := standalone.add(t, host); err != nil {
		t.Fatalf("standalone ADD with a not-ready agent: %v", err)
	}
	t.Cleanup(func() { _ = standalone.del(host) })

	writeState(t, stateDir, &state.NodeState{Ready: true, MTU: 1400, PodCIDRs: []string{"10.87.0.0/24"}})
	p := newPod(t, "ctr-gated", conf)
	if err := p.add(t, host); err != nil {
		t.Fatalf("ADD with a ready agent: %v", err)
	}
	t.Cleanup(func() { _ = p.del(host) })
}
