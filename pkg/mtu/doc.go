// Package mtu owns the packet-size facts that the agent, the CNI plugin and
// the tunnel devices must agree on: the bytes each encapsulation adds (one
// table of named header sizes), the pod MTU derived from the paths in use,
// and the size above which a GSO/GRO setting means BIG TCP.
//
// Why one package: the pod MTU and the tunnel device MTU are both "uplink MTU
// minus the overhead"; when the overhead had a copy in the decision and
// another in the device code, the two could drift and a pod would send
// packets its tunnel device must fragment or drop. The package is pure (no
// netlink, no Kubernetes), so the CNI binary links it for free.
package mtu
