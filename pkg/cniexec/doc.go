// Package cniexec runs a delegated CNI plugin (the IPAM plugin) the way
// libcni's invoke package does: found in CNI_PATH, this invocation's CNI_*
// environment with CNI_COMMAND (and for GC's per-attachment release, the
// container ID and ifname) overridden, the network config on stdin, a
// result or a CNI error on stdout.
//
// Why not invoke itself: since CNI 1.2 invoke propagates OpenTelemetry
// trace context, which links go.opentelemetry.io/otel and with it net/http
// and crypto/tls into every binary that delegates: about a third of this
// plugin's size, paid in page faults on every pod ADD and DEL. The trace
// variables (TRACEPARENT, TRACESTATE, BAGGAGE) still reach the IPAM plugin
// here, inherited from our own environment.
package cniexec
