package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/offload-overlay/offload-overlay/pkg/agent/config"
	"github.com/offload-overlay/offload-overlay/pkg/datapath/linux"
)

// runCleanup removes what the agent created on this node: masquerade
// chains, peer routes, FDB entries, neighbours, tunnel devices, probe
// routes and lo addresses, and the state file. Missing pieces are success.
func runCleanup(args []string) int {
	cfg, err := config.ParseCleanup(args, os.Getenv, os.Stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "offload-overlay-agent cleanup: %v\n", err)
		return 2
	}
	k, err := linux.New(linux.Config{Masq: linux.IPTablesMasq{}})
	if err == nil {
		err = linux.CleanupNode(k, cfg.StateDir)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "offload-overlay-agent cleanup: %v\n", err)
		return 1
	}
	return 0
}
