package mtu

// BigTCPThreshold is the legacy GSO/GRO ceiling (64 KiB). Sizes above it turn
// BIG TCP on; at or below it the kernel defaults are left alone.
const BigTCPThreshold = 65536

// Path is what the pod MTU needs to know of one path to a peer.
type Path struct {
	// MTU is the largest pod packet the path carries whole: the uplink MTU
	// minus the path's Overhead; 0 when unknown.
	MTU int
	// Reachable is false for a peer no mode reaches: it constrains nothing.
	Reachable bool
	// Native is true when the path routes pod packets unencapsulated.
	Native bool
}

// PodMTU is the MTU every pod on a node gets: the smallest MTU among the
// reachable paths, so that one pod reaches every peer without fragmenting.
// allNative reports whether every reachable path is native (BIG TCP is only
// offered then). ok is false when no reachable path gives an MTU: the caller
// then has to pick one without peers (the agent decides as if for a peer of
// its own kind).
func PodMTU(paths []Path) (mtu int, allNative, ok bool) {
	allNative, any := true, false
	for _, p := range paths {
		if !p.Reachable {
			continue
		}
		any = true
		if !p.Native {
			allNative = false
		}
		if p.MTU > 0 && (mtu == 0 || p.MTU < mtu) {
			mtu = p.MTU
		}
	}
	if !any || mtu <= 0 {
		return 0, false, false
	}
	return mtu, allNative, true
}
