package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// runAgent parses the flags and runs the node agent until SIGTERM or
// SIGINT. Stopping leaves the datapath and the state file in place, so an
// agent upgrade drops no pod connection.
func runAgent(args []string) int {
	cfg, err := config.Parse(args, os.Getenv, os.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "offload-overlay-agent run: %v\n", err)
		return 2
	}
	log := cfg.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// A crash-looping agent must not leave a ready state that keeps the
	// plugin admitting pods (pkg/state/lifecycle.go).
	if marked, err := state.AfterRestart(cfg.StateDir, cfg.NodeName); err != nil {
		log.Warn("checking the previous agent's state", "err", err)
	} else if marked {
		log.Warn("previous agent process did not stop cleanly: node not ready until this one converges")
	}
	if err := runNode(ctx, cfg, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("agent failed", "err", err)
		if err := state.MarkNotReady(cfg.StateDir, cfg.NodeName, "agent exited: "+err.Error()); err != nil {
			log.Error("marking node state not ready", "err", err)
		}
		return 1
	}
	if err := state.MarkStopped(cfg.StateDir); err != nil {
		log.Warn("recording a clean stop in the node state", "err", err)
	}
	return 0
}
