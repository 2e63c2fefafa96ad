package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/agent/coreapi"
	"github.com/offload-overlay/offload-overlay/pkg/bgp"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
)

// runningAgent is one agent under test, wired as the binary wires it
// (agent.Main): the binary's core/v1 client, the production datapath
// (here inside the node's netns) and the real decision.
type runningAgent struct {
	*agent.Agent
	Kernel datapath.Kernel
	stop   func()
}

// Stop cancels the agent and waits for Run to return (idempotent); a
// Run error other than the cancellation fails the test.
func (r *runningAgent) Stop() { r.stop() }

// startAgent builds node's datapath in netns (masq nil: no masquerade) and
// an agent over client, and runs it until Stop or the end of the test.
// The datapath and state file outlive Stop, as they outlive a real agent;
// the test's cleanup removes them (linux.CleanupNode) unless keep is set
// (a second agent started on the same node owns them then).
func startAgent(t *testing.T, client *coreapi.Client, cfg *config.Config, netns ns.NetNS, masq linux.Masquerader, log *slog.Logger, keep bool) *runningAgent {
	t.Helper()
	kernel, err := linux.New(linux.Config{NetNS: netns, VNI: cfg.VNI, Port: cfg.VXLANPort, Masq: masq, Firewall: cfg.VXLANFilter, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if !keep {
		t.Cleanup(func() { _ = linux.CleanupNode(kernel, cfg.StateDir) })
	}
	a, err := agent.New(cfg, agent.Deps{Nodes: client.Nodes(), Events: client.Events(), Kernel: kernel, BGP: newSpeaker,
		Decide: decision.Decide, Registry: prometheus.NewRegistry(), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	r := &runningAgent{Agent: a, Kernel: kernel}
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent returned %v", err)
		}
	}
	t.Cleanup(r.stop)
	return r
}

// newSpeaker is the binary's BGP speaker (agent.NewSpeaker).
func newSpeaker(log *slog.Logger, onSession func(bgptypes.Session), onLearnt func()) (agent.Speaker, prometheus.Collector) {
	return bgp.ForAgent(log, onSession, onLearnt)
}
