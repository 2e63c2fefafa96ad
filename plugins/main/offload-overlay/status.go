package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// cmdStatus reports whether ADD can succeed now. The node agent's state file
// is the readiness signal: missing, unreadable or not ready returns code 50
// (plugin not available) with the reason. One exception: a standalone config
// (explicit mtu and ranges, stateDir not named) needs no agent, so a missing
// file at the default path is fine there. Finally IPAM is asked too.
func cmdStatus(args *skel.CmdArgs) error {
	conf, err := config.Parse(args.StdinData)
	if err != nil {
		return err
	}
	node, err := state.Read(conf.StateDir)
	switch {
	case errors.Is(err, state.ErrNotExist) && conf.Standalone():
		// standalone: no agent expected
	case errors.Is(err, state.ErrNotExist):
		return types.NewError(types.ErrPluginNotAvailable,
			"node agent has not written its state yet", err.Error())
	case err != nil:
		return types.NewError(types.ErrPluginNotAvailable, "node agent state unreadable", err.Error())
	case !node.Ready:
		return types.NewError(types.ErrPluginNotAvailable, "node agent not ready", node.Reason)
	}
	ipamConf, err := conf.IPAMConfig(node)
	if err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "no address ranges", err.Error())
	}
	if err := ipamStatus(conf.IPAM.Type, ipamConf); err != nil {
		return fmt.Errorf("IPAM %s: %w", conf.IPAM.Type, err)
	}
	return nil
}
