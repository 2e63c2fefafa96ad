package doctor

import (
	"fmt"
	"strings"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// Why doctor lists what the agent could not use: one bad peer never stops
// the node (issue 11). The agent admits every Node it can, programs every
// path the kernel accepts and keeps going; what it left out is in its
// peers file, and a node that "works" except towards one peer is exactly
// the case an operator runs doctor for. So the report names every Node the
// agent ignored (a malformed or hostile annotation, an endpoint that is not
// the Node's, a stolen VTEP MAC, ...) with the agent's reason, and every
// path the kernel refused at its last attempt with the kernel's error.

// RetryBackoff is FailedPath.Retry: the agent retries the refused path
// alone, with exponential backoff, while every other path stays programmed.
const RetryBackoff = "backoff"

// FailedPath is one peer path the kernel refused at the agent's last
// attempt to program it.
type FailedPath struct {
	Peer    string        `json:"peer"`
	Family  int           `json:"family"`
	NodeIP  string        `json:"nodeIP"`
	PodCIDR string        `json:"podCIDR"`
	Mode    decision.Mode `json:"mode"`
	// Error is the kernel's refusal as the agent recorded it.
	Error string `json:"error"`
	// Retry is how the agent retries it (RetryBackoff).
	Retry string `json:"retry"`
}

// ignoredOf copies the peers file's ignored Nodes (nil: none).
func ignoredOf(f *peerstate.File) []peerstate.Ignored {
	if len(f.Ignored) == 0 {
		return nil
	}
	return append([]peerstate.Ignored(nil), f.Ignored...)
}

// failedOf lists the paths the agent recorded as refused, in the file's
// order (by peer, then family).
func failedOf(f *peerstate.File) []FailedPath {
	var out []FailedPath
	for _, p := range f.Peers {
		for _, pa := range p.Paths {
			if pa.Failed == "" {
				continue
			}
			out = append(out, FailedPath{Peer: p.Name, Family: pa.Family, NodeIP: pa.NodeIP, PodCIDR: pa.PodCIDR,
				Mode: pa.Mode, Error: pa.Failed, Retry: RetryBackoff})
		}
	}
	return out
}

// failedNote is the reason added to a --peer decision whose path the
// kernel refused ("" : it did not).
func failedNote(pa peerstate.Path) string {
	if pa.Failed == "" {
		return ""
	}
	return fmt.Sprintf("the kernel refused this path at the agent's last attempt (%s): not programmed; the agent retries it with backoff and programs every other path meanwhile", pa.Failed)
}

func (r *Report) textIgnored(b *strings.Builder) {
	if len(r.Ignored) == 0 {
		return
	}
	b.WriteString("\nignored nodes (not admitted as peers by the agent):\n")
	for _, ig := range r.Ignored {
		fmt.Fprintf(b, "  %s: %s\n", ig.Name, ig.Reason)
	}
}

func (r *Report) textFailed(b *strings.Builder) {
	if len(r.FailedPaths) == 0 {
		return
	}
	b.WriteString("\nfailed paths (refused by the kernel at the agent's last attempt; every other path is programmed, each of these is retried with backoff):\n")
	for _, f := range r.FailedPaths {
		fmt.Fprintf(b, "  %s IPv%d %s (%s, %s): %s\n", f.Peer, f.Family, f.NodeIP, f.PodCIDR, f.Mode, f.Error)
	}
}
