package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"

	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/podnet"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// readNode returns the node agent's state, nil when the agent has not
// written any. A file that exists but cannot be read or parsed is an error
// (code 11, try again later): guessing MTU or CIDRs would be worse.
func readNode(conf *config.NetConf) (*state.NodeState, error) {
	node, err := state.Read(conf.StateDir)
	if errors.Is(err, state.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, types.NewError(types.ErrTryAgainLater, fmt.Sprintf("reading node state: %v", err), "")
	}
	return node, nil
}

// derive reads the node agent's state and derives what this pod gets from
// it and the config: MTU (falling back to the uplink's), host-local ranges
// from the node's pod CIDRs, BIG TCP sizes. ADD and CHECK must agree on it.
// ADD (admit) also requires a ready agent (config.AdmitAdd); CHECK of a
// pod that already runs does not.
func derive(conf *config.NetConf, host netlinksafe.Handle, admit bool) (*config.Derived, error) {
	node, err := readNode(conf)
	if err != nil {
		return nil, err
	}
	if admit {
		if err := conf.AdmitAdd(node); err != nil {
			return nil, err
		}
	}
	return conf.Derive(node, func() (int, error) { return podnet.UplinkMTU(host) })
}
