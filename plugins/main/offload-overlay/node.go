package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/config"
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
