// Command offload-overlay is the CNI plugin: it gives each pod a routed veth
// (see pkg/podnet) and delegates addresses to an IPAM plugin. This file only
// wires the CNI verbs; each verb lives in its own file.
package main

import (
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	cniversion "github.com/containernetworking/cni/pkg/version"

	"github.com/offload-overlay/offload-overlay/pkg/version"
)

// supportedVersions are the CNI spec versions this plugin speaks.
var supportedVersions = cniversion.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

func init() {
	// Netlink handles for the pod netns are created by briefly switching
	// the calling thread into it; the IPAM plugin is exec'd from the
	// calling thread and must inherit the host netns. Pinning main to one
	// thread keeps both on the namespace the runtime started us in.
	runtime.LockOSThread()
}

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{
		Add:    cmdAdd,
		Del:    cmdDel,
		Check:  cmdCheck,
		Status: cmdStatus,
		GC:     cmdGC,
	}, supportedVersions, "offload-overlay CNI plugin "+version.Version)
}
