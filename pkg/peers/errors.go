package peers

import (
	"errors"
	"fmt"
)

// PeerError is a kernel refusal of one peer's object: the caller keeps
// the node going (every other peer is programmed) and reports, then
// retries, this peer alone.
type PeerError struct {
	Peer string
	Err  error
}

func (e *PeerError) Error() string { return fmt.Sprintf("peer %s: %v", e.Peer, e.Err) }
func (e *PeerError) Unwrap() error { return e.Err }

// SplitErrors separates the per-peer failures in err (as returned by
// Apply, ApplyPeer, RemovePeer or Resync) from the rest: the rest (the
// kernel could not be read, a stale object could not be deleted) concerns
// the node as a whole.
func SplitErrors(err error) (peers map[string]error, rest error) {
	var others []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var pe *PeerError
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &pe) {
			if peers == nil {
				peers = map[string]error{}
			}
			peers[pe.Peer] = pe.Err
			return
		}
		others = append(others, e)
	}
	walk(err)
	return peers, errors.Join(others...)
}
