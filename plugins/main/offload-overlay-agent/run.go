package main

import (
	"fmt"
	"os"
)

// runAgent runs the node agent. Placeholder until the agent lands (issue 5).
func runAgent(args []string) int {
	fmt.Fprintln(os.Stderr, "offload-overlay-agent run: not implemented yet")
	return 1
}
