// Package overlay owns the node's tunnel devices: one VXLAN device per
// address family (oo-vxlan4, oo-vxlan6) and, where the kernel has it, one
// Geneve device per family (oo-geneve4, oo-geneve6).
//
// Why the devices are shaped this way:
//
//   - One device per family, not one per peer. Peers are added by writing
//     FDB and neighbour entries on the shared device (package peers), so a
//     peer costs a few netlink calls and no new interface, and 1000 peers
//     stay 1 device.
//   - Learning is off and no multicast group is set: the control plane knows
//     every peer's VTEP MAC and node IP from the Node annotations, so the
//     kernel never floods or learns (no BUM traffic on the underlay, no stale
//     learnt entries after a node moves).
//   - local = the node IP and dev = the uplink pin the outer source address
//     and the egress device, so the outer packets leave exactly where the
//     offload inspection looked (tunnel segmentation on that device).
//   - The VTEP MAC is derived from the node IP (VTEPMAC) instead of random:
//     an agent restart or a device recreation keeps the MAC, so peers'
//     neighbour entries stay valid and no established flow stalls while the
//     new MAC propagates through the API server.
//   - Ensure is idempotent: an existing device with the same configuration
//     is adopted untouched (restarts do not disturb traffic). A device whose
//     identity differs (VNI, port, local IP, uplink, learning, checksum
//     flags) is recreated and the difference is reported in words
//     ("vni: 1 vs 2"); MTU, MAC and the up state are changed in place.
//   - The device holds the node's VTEP address of its family (the first
//     address of the node's pod CIDR, the address peers route to us by) as
//     a /32 (/128): node-originated traffic over the tunnel then carries a
//     source that the peer's rp_filter accepts on its tunnel device and that
//     MASQUERADE picks predictably (addr.go says why not a route src).
//   - The MTU is the uplink MTU minus the encapsulation overhead of that
//     family (mtu.VXLANOverheadIPv4, mtu.VXLANOverheadIPv6), never subtracted twice.
//   - Geneve has no FDB, so a Geneve device is created in external
//     (collect_md) mode; routes would carry the remote per peer. The lab
//     kernel has no Geneve ("Unknown device type"), so Ensure reports
//     offload.ErrKindUnsupported (errors.Is, the same sentinel as the
//     kernel probe offload.ProbeEncapSupport) and callers fall back to VXLAN.
//
// Everything in this package is a device we name with the "oo-" prefix, so
// Teardown and TeardownAll remove only what we created; deleting a device
// also removes its FDB entries, neighbours and routes.
package overlay
