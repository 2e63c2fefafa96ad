// Command offload-overlay-agent is the node agent of offload-overlay.
//
//	offload-overlay-agent [run] [flags]   converge this node's datapath (default)
//	offload-overlay-agent doctor [flags]  explain the datapath this node would choose
//	offload-overlay-agent cleanup [flags] remove everything the agent created
//	offload-overlay-agent version
//
// main only dispatches; each subcommand lives in its own file and its logic
// in pkg/.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/version"
)

func main() { os.Exit(dispatch(os.Args[1:])) }

// dispatch runs the subcommand named by args[0]; without one (or when the
// first argument is a flag) it runs the agent, so `offload-overlay-agent
// --node-name n1` keeps working as a DaemonSet command.
func dispatch(args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runAgent(args)
	}
	switch args[0] {
	case "run":
		return runAgent(args[1:])
	case "doctor":
		return runDoctor(args[1:])
	case "cleanup":
		return runCleanup(args[1:])
	case "version":
		fmt.Println(version.Version)
		return 0
	case "help":
		usage()
		return 0
	}
	fmt.Fprintf(os.Stderr, "offload-overlay-agent: unknown subcommand %q\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: offload-overlay-agent [run|doctor|cleanup|version] [flags]
  run      converge this node's datapath (default)
  doctor   explain where segmentation happens and which datapath this node would choose
  cleanup  remove the devices, routes and rules the agent created
Run a subcommand with -h for its flags.
`)
}
