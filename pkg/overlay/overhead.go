package overlay

import "github.com/offload-overlay/offload-overlay/pkg/mtu"

// Overhead returns the encapsulation overhead in bytes of kind over an
// outer header of the given family (4 or 6), from the one overhead table
// (package mtu) that the pod MTU also uses.
func Overhead(kind Kind, family int) int {
	e := mtu.VXLAN
	if kind == KindGeneve {
		e = mtu.Geneve
	}
	return mtu.Overhead(e, family == 6)
}
