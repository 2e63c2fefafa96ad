package main

import (
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/offload-overlay/offload-overlay/pkg/attachlock"
	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// cmdAdd: config, node state, pod netns, then IPAM and the veth pair in
// parallel, then addresses and routes on both ends, forwarding, result.
// Any failure after IPAM allocated releases the addresses and deletes the
// veth (success flag + deferred rollback).
func cmdAdd(args *skel.CmdArgs) error {
	trace := newPhases("ADD")
	defer trace.log()
	conf, err := config.Parse(args.StdinData)
	if err != nil {
		return err
	}
	// GC must not see this attachment half-built (pkg/attachlock).
	lock, err := attachlock.Shared(conf.StateDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	host, err := podnet.OpenHost()
	if err != nil {
		return err
	}
	defer host.Close()
	derived, err := derive(conf, host, true)
	if err != nil {
		return err
	}
	trace.mark("config+state")
	// Open the netns before IPAM: a pod whose netns is gone gets no address.
	pod, err := podnet.OpenPod(args.Netns)
	if err != nil {
		return err
	}
	defer pod.Close()
	trace.mark("open-netns")

	att := podnet.Attachment{Network: conf.Name, ContainerID: args.ContainerID, IfName: args.IfName}
	spec := podnet.VethSpec{HostName: att.HostVeth(), PodIfName: args.IfName, Alias: att.Alias(),
		MTU: derived.MTU, GSOMaxSize: derived.GSOMaxSize, GROMaxSize: derived.GROMaxSize}

	// The veth does not depend on the addresses: build it while the IPAM
	// plugin runs. IPAM stays on this (host-netns) thread.
	vethDone := make(chan vethOutcome, 1)
	go func() {
		start := time.Now()
		pair, err := podnet.CreateVeth(host, pod.Handle, int(pod.NS.Fd()), spec)
		vethDone <- vethOutcome{pair, err, time.Since(start)}
	}()
	ipamRes, ipamErr := ipamAdd(conf.IPAM.Type, derived.IPAMConf)
	trace.mark("ipam-exec")
	veth := <-vethDone
	trace.mark("veth-wait")
	trace.span("veth-create", veth.took)

	success := false
	defer func() {
		if success {
			return
		}
		if veth.err == nil {
			warnRollback("deleting host veth", podnet.DeleteHostVeth(host, spec.HostName))
		}
		if ipamErr == nil {
			warnRollback("releasing IPAM", ipamDel(conf.IPAM.Type, derived.IPAMConf))
		}
	}()
	if ipamErr != nil {
		return fmt.Errorf("IPAM %s: %w", conf.IPAM.Type, ipamErr)
	}
	if veth.err != nil {
		return veth.err
	}
	ipamResult, err := current.NewResultFromResult(ipamRes)
	if err != nil {
		return fmt.Errorf("converting IPAM result: %w", err)
	}
	plan, err := podnet.NewPlan(att, derived.MTU, ipamResult.IPs, ipamResult.Routes)
	if err != nil {
		return err
	}
	if err := podnet.ConfigurePod(pod.Handle, veth.pair.Pod, plan); err != nil {
		return err
	}
	trace.mark("pod-addrs+routes")
	if err := podnet.ConfigureHost(host, veth.pair.Host, plan); err != nil {
		return err
	}
	trace.mark("host-addrs+routes")
	if err := podnet.EnsureForwarding(plan.Families()); err != nil {
		return err
	}
	success = true
	err = types.PrintResult(buildResult(args, plan, veth.pair, ipamResult.DNS), conf.CNIVersion)
	trace.mark("forwarding+result")
	return err
}

type vethOutcome struct {
	pair *podnet.VethPair
	err  error
	took time.Duration
}

// buildResult reports both interfaces (the pod's with its sandbox), the
// pod's addresses pointing at the sandbox interface, and the pod's routes.
func buildResult(args *skel.CmdArgs, plan *podnet.Plan, pair *podnet.VethPair, dns types.DNS) *current.Result {
	const podIndex = 1
	res := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: plan.HostVeth, Mac: pair.Host.Attrs().HardwareAddr.String()},
			{Name: args.IfName, Mac: pair.Pod.Attrs().HardwareAddr.String(), Mtu: plan.MTU, Sandbox: args.Netns},
		},
		Routes: plan.PodRoutes,
		DNS:    dns,
	}
	for i, a := range plan.PodAddrs {
		res.IPs = append(res.IPs, &current.IPConfig{Interface: current.Int(podIndex), Address: *a, Gateway: plan.PodGateways[i]})
	}
	return res
}
