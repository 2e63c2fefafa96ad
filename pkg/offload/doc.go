// Package offload reads, from the kernel, where TCP super-packets will be cut
// on a node's egress path, and concludes whether an overlay tunnel can keep
// them whole.
//
// Why this matters. TCP hands the stack super-packets of up to 64 KB (more
// with BIG TCP) and the kernel cuts them to MTU size as late as it can: in
// the NIC (TSO) or, failing that, in software (GSO) just before the first
// device that cannot. A veth advertises every offload and passes
// super-packets to its peer uncut; a VXLAN device encapsulates a super-packet
// whole, but then every device below it must segment the *inner* packets
// itself (`tx-udp_tnl-segmentation`). Where one cannot (virtio-net guests:
// `off [fixed]`), the kernel segments before that device, and everything
// after runs once per 1.5 KB packet: 0.30x native on the lab kernel instead
// of 0.80x. A tunnel device never advertises tunnel segmentation itself, so
// an overlay tunnel inside a tunnel underlay (VXLAN over WireGuard, over a
// tun VPN, over another VXLAN) is always cut before the second level (0.20x).
//
// What it reads. For a destination, the route the kernel would use (`ip
// route get`), then the device stack below the route's device, because the
// weakest device on the way decides: bridge -> the port its FDB names for
// the next hop's MAC, or every port when that is unknown (then every port
// must be capable; a tap port is a VM's NIC, not a VPN), macvlan/ipvlan/vlan
// -> parent,
// bond/team -> every slave, a VRF master (a VRF advertises no tunnel
// segmentation), a tunnel -> its lower device. veth is a leaf: its peer is
// usually in another namespace. For each device: kind, driver, MTU, GSO/GRO
// limits over netlink, and every ethtool feature with its four state bits
// (ETHTOOL_GFEATURES through github.com/safchain/ethtool, not a shell-out),
// rendered in ethtool's own words ("off [fixed]" means unsupported).
//
// Namespaces. Everything runs in the calling thread's network namespace;
// InspectIn runs it inside a given one (the ethtool ioctl socket is opened
// there too), which is how tests and the lab inspect node namespaces.
// ProbeEncaps creates each overlay tunnel kind once per process in a scratch
// namespace, because a monolithic kernel without geneve only says so when
// asked to create one ("Unknown device type").
//
// What it concludes (Verdict, Path, Device, Features, SegmentationFor, the
// lab ratios) is defined in offloadtypes, which reads no kernel, so that
// the controller and the decision link no netlink; the names are
// re-exported here (types.go).
package offload
