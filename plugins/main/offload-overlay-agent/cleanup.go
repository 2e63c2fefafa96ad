package main

import (
	"fmt"
	"os"
)

// runCleanup removes what the agent created. Placeholder until the agent
// lands (issue 5).
func runCleanup(args []string) int {
	fmt.Fprintln(os.Stderr, "offload-overlay-agent cleanup: not implemented yet")
	return 1
}
