package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/offload-overlay/offload-overlay/pkg/agent"
	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
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
	if err := agent.Main(ctx, cfg, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("agent failed", "err", err)
		return 1
	}
	return 0
}
