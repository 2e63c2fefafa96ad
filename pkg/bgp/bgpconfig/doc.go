// Package bgpconfig holds the BGP settings of the agent: the flags
// (--bgp-as, --bgp-peer, --bgp-password, --bgp-hold-time,
// --bgp-graceful-restart, --bgp-import) with their OFFLOAD_OVERLAY_BGP_*
// environment fallbacks, the per-node overrides read from the Node
// (offload-overlay.io/bgp-as, offload-overlay.io/bgp-peers), and their
// validation.
//
// Why a package of its own: the settings are read by the agent's
// configuration, by doctor and by the state files, none of which should link
// the BGP implementation (github.com/osrg/gobgp and its gRPC stack); only the
// speaker in pkg/bgp does. This package imports nothing but the standard
// library.
//
// Errors name what the operator wrote: a *FlagError carries the flag (or the
// Node label) and the rejected value, never a password.
package bgpconfig
