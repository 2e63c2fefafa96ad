package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/bgp"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
)

// runNode builds this node's datapath (netlink, iptables, nftables) and
// hands it, with the BGP speaker (gobgp), to the controller (pkg/agent),
// which links neither and runs until ctx ends.
func runNode(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	k, err := linux.New(linux.Config{Iface: cfg.Iface, VNI: cfg.VNI, Port: cfg.VXLANPort, Masq: linux.IPTablesMasq{},
		Firewall: cfg.VXLANFilter, Log: log})
	if err != nil {
		return err
	}
	return agent.Main(ctx, cfg, k, newSpeaker, log)
}

// newSpeaker is the agent's BGP speaker (agent.NewSpeaker): pkg/bgp's
// Manager and the collector of its session metrics.
func newSpeaker(log *slog.Logger, onSession func(bgptypes.Session), onLearnt func()) (agent.Speaker, prometheus.Collector) {
	return bgp.ForAgent(log, onSession, onLearnt)
}
