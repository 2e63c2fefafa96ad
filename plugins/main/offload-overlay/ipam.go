package main

import (
	"context"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

// IPAM delegation. These are what plugins/pkg/ipam's ExecAdd & co do;
// calling invoke directly keeps that package's iptables and nftables
// dependencies (pulled in by its ConfigureIface) out of the binary.

func ipamAdd(plugin string, conf []byte) (types.Result, error) {
	return invoke.DelegateAdd(context.TODO(), plugin, conf, nil)
}

func ipamDel(plugin string, conf []byte) error {
	return invoke.DelegateDel(context.TODO(), plugin, conf, nil)
}

func ipamCheck(plugin string, conf []byte) error {
	return invoke.DelegateCheck(context.TODO(), plugin, conf, nil)
}

func ipamStatus(plugin string, conf []byte) error {
	return invoke.DelegateStatus(context.TODO(), plugin, conf, nil)
}
