// Package linux is the production datapath: the implementation of
// datapath.Kernel on the Linux kernel (New), over netlink, iptables and
// nftables, optionally inside a network namespace that stands for the node
// in tests. The agent binary builds it and hands it to the controller
// (pkg/agent), which sees only the interface and so links none of those
// libraries (a `make lint` guard).
//
// Inside, the pieces are the existing single-purpose packages: offload
// inspects the uplink and the routes towards peers, overlay owns the tunnel
// devices, peers converges routes, neighbours and FDB entries, masq owns the
// OO-MASQ chains, firewall the VXLAN filter, endpointnl reads what peer
// endpoint checks need.
//
// Cleanup is one entry point that removes everything the agent put into
// the kernel (the `cleanup` subcommand, which builds only this package and
// its dependencies): routes tagged with peers.RouteProtocol and probe
// routes, the oo-* tunnel devices (and with them every FDB entry and
// neighbour on them), the probe addresses on lo, the OO-MASQ iptables
// chains and the VXLAN filter. It exists so that cleanup cannot forget a
// piece as the datapath grows. Shutdown (SIGTERM) does NOT call it: an
// agent restart must leave the datapath in place so established pod
// connections survive.
package linux
