package main

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// cmdCheck asks IPAM to check its allocation, then compares the kernel with
// prevResult: the pod interface with its addresses and routes, the host veth
// with its gateway addresses and host routes, and the MTU both should have
// now. A mismatch returns an error saying what differs.
func cmdCheck(args *skel.CmdArgs) error {
	conf, err := config.Parse(args.StdinData)
	if err != nil {
		return err
	}
	prev, err := prevResult(conf)
	if err != nil {
		return err
	}
	host, err := podnet.OpenHost()
	if err != nil {
		return err
	}
	defer host.Close()
	derived, err := derive(conf, host, false)
	if err != nil {
		return err
	}
	if err := ipamCheck(conf.IPAM.Type, derived.IPAMConf); err != nil {
		return fmt.Errorf("IPAM %s: %w", conf.IPAM.Type, err)
	}
	pod, err := podnet.OpenPod(args.Netns)
	if err != nil {
		return err
	}
	defer pod.Close()

	att := podnet.Attachment{Network: conf.Name, ContainerID: args.ContainerID, IfName: args.IfName}
	plan, err := podnet.NewPlan(att, derived.MTU, sandboxIPs(prev, args), nil)
	if err != nil {
		return fmt.Errorf("prevResult: %w", err)
	}
	plan.PodRoutes = prev.Routes
	return podnet.Verify(host, pod.Handle, plan)
}

// prevResult returns the chain's result as types/100.
func prevResult(conf *config.NetConf) (*current.Result, error) {
	if conf.RawPrevResult == nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "invalid network config: prevResult: missing", "")
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "invalid network config: prevResult: "+err.Error(), "")
	}
	res, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, types.NewError(types.ErrInvalidNetworkConfig, "invalid network config: prevResult: "+err.Error(), "")
	}
	return res, nil
}

// sandboxIPs are prevResult's addresses on the pod interface args.IfName.
func sandboxIPs(res *current.Result, args *skel.CmdArgs) []*current.IPConfig {
	var out []*current.IPConfig
	for _, ipc := range res.IPs {
		if ipc.Interface == nil || *ipc.Interface < 0 || *ipc.Interface >= len(res.Interfaces) {
			continue
		}
		iface := res.Interfaces[*ipc.Interface]
		if iface.Name == args.IfName && iface.Sandbox != "" {
			out = append(out, ipc)
		}
	}
	return out
}
