package main

import (
	"fmt"
	"time"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/offload-overlay/offload-overlay/pkg/attachlock"
	"github.com/offload-overlay/offload-overlay/pkg/config"
	"github.com/offload-overlay/offload-overlay/pkg/podnet"
)

// cmdDel releases the addresses and deletes the host veth, in parallel.
// It never needs the pod netns: the host veth has a deterministic name, and
// deleting it deletes the pod end and every route through the pair. A
// missing netns, veth or IPAM record is success, so a second DEL succeeds.
func cmdDel(args *skel.CmdArgs) error {
	trace := newPhases("DEL")
	defer trace.log()
	conf, err := config.Parse(args.StdinData)
	if err != nil {
		return err
	}
	// GC must not release what this DEL is releasing (pkg/attachlock).
	// A DEL that cannot take it (state dir unwritable) still runs: DEL
	// must always be able to free a pod's resources.
	if lock, err := attachlock.Shared(conf.StateDir); err == nil {
		defer lock.Unlock()
	}
	host, err := podnet.OpenHost()
	if err != nil {
		return err
	}
	defer host.Close()
	node, _ := readNode(conf) // an unreadable state file must not block DEL
	ipamConf, err := conf.IPAMConfigForRelease(node)
	if err != nil {
		return err
	}
	att := podnet.Attachment{Network: conf.Name, ContainerID: args.ContainerID, IfName: args.IfName}

	trace.mark("config+state")
	linkDone := make(chan error, 1)
	var linkTook time.Duration
	go func() {
		start := time.Now()
		err := podnet.DeleteHostVeth(host, att.HostVeth())
		linkTook = time.Since(start)
		linkDone <- err
	}()
	ipamErr := ipamDel(conf.IPAM.Type, ipamConf)
	trace.mark("ipam-exec")
	linkErr := <-linkDone
	trace.mark("veth-wait")
	trace.span("veth-delete", linkTook)
	if ipamErr != nil {
		return fmt.Errorf("IPAM %s: %w", conf.IPAM.Type, ipamErr)
	}
	return linkErr
}
