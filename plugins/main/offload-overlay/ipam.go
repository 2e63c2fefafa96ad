package main

import (
	"github.com/containernetworking/cni/pkg/types"

	"github.com/offload-overlay/offload-overlay/pkg/cniexec"
)

// IPAM delegation through pkg/cniexec (see its doc.go for why not
// libcni's invoke).

func ipamAdd(plugin string, conf []byte) (types.Result, error) { return cniexec.Add(plugin, conf) }

func ipamDel(plugin string, conf []byte) error { return cniexec.Call(plugin, "DEL", conf) }

func ipamCheck(plugin string, conf []byte) error { return cniexec.Call(plugin, "CHECK", conf) }

func ipamStatus(plugin string, conf []byte) error { return cniexec.Call(plugin, "STATUS", conf) }

func ipamGC(plugin string, conf []byte) error { return cniexec.Call(plugin, "GC", conf) }
