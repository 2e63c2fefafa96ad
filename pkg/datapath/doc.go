// Package datapath is the one entry point that removes everything the node
// agent put into the kernel (the `cleanup` subcommand): routes tagged with
// peers.RouteProtocol, the oo-* tunnel devices (and with them every FDB
// entry and neighbour on them), and the OO-MASQ iptables chains.
//
// It exists so that cleanup cannot forget a piece as the datapath grows:
// every package that programs the kernel registers its removal here.
// Shutdown (SIGTERM) does NOT call it: an agent restart must leave the
// datapath in place so established pod connections survive.
package datapath
