package agent

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/offload-overlay/offload-overlay/pkg/datapath"
)

// Why failures are per path: a peer publishes facts this node turns into
// kernel objects, and the kernel may refuse them (an endpoint that is one
// of our addresses, a broadcast address, a next hop it cannot reach). One
// such peer must not stop the node: every other path is programmed, the
// node publishes its facts, writes a ready state and sets its condition,
// and the refused path is reported (log, metric, Event, the peers file
// doctor reads) and retried alone with exponential backoff.

// Backoff of a refused path: 1s, 2s, 4s, ... up to maxPathBackoff.
const (
	minPathBackoff = time.Second
	maxPathBackoff = 5 * time.Minute
)

// pathFailure is one refused path.
type pathFailure struct {
	err      string
	attempts int
	retryAt  time.Time
}

// pathFailures are the paths the kernel refused at their last attempt, by
// Path.Key. Owned by the worker goroutine.
type pathFailures map[string]pathFailure

// update records the outcome of programming: attempted paths not in
// failed succeeded, failed ones back off further, paths no longer wanted
// are forgotten. It returns the keys whose error changed (to report).
func (f pathFailures) update(want []datapath.Path, attempted []datapath.Path, failed map[string]error, now time.Time) (changed []string) {
	wanted := make(map[string]bool, len(want))
	for _, p := range want {
		wanted[p.Key()] = true
	}
	for key := range f {
		if !wanted[key] {
			delete(f, key)
		}
	}
	for _, p := range attempted {
		if _, bad := failed[p.Key()]; !bad {
			delete(f, p.Key())
		}
	}
	for key, err := range failed {
		old := f[key]
		n := old.attempts + 1
		f[key] = pathFailure{err: err.Error(), attempts: n, retryAt: now.Add(backoff(n))}
		if old.err != err.Error() {
			changed = append(changed, key)
		}
	}
	slices.Sort(changed)
	return changed
}

func backoff(attempts int) time.Duration {
	d := minPathBackoff << min(attempts-1, 16)
	return min(d, maxPathBackoff)
}

// nextRetry is how long until the earliest retry (false: none pending).
func (f pathFailures) nextRetry(now time.Time) (time.Duration, bool) {
	var first time.Time
	for _, pf := range f {
		if first.IsZero() || pf.retryAt.Before(first) {
			first = pf.retryAt
		}
	}
	if first.IsZero() {
		return 0, false
	}
	return max(first.Sub(now), 0), true
}

// due reports whether the failed path key may be attempted now (a path
// that never failed always may).
func (f pathFailures) due(key string, now time.Time) bool {
	pf, ok := f[key]
	return !ok || !now.Before(pf.retryAt)
}

// reportFailures logs and records an Event for each path whose error
// changed, sets the metric, and schedules the next retry.
func (a *Agent) reportFailures(changed []string, byKey map[string]datapath.Path) {
	for _, key := range changed {
		pf := a.failures[key]
		p := byKey[key]
		a.log.Warn("peer path refused by the kernel; other paths programmed, retrying with backoff",
			"peer", p.Peer, "podCIDR", p.PodCIDR, "peerIP", p.PeerIP, "mode", p.Mode, "err", pf.err, "retryIn", backoff(pf.attempts))
		a.recorder.Eventf(a.nodeRef, corev1.EventTypeWarning, "PeerPathFailed",
			"peer %s pod CIDR %s (%s via %s) not programmed: %s", p.Peer, p.PodCIDR, p.Mode, p.PeerIP, pf.err)
	}
	a.metrics.FailedPaths.Set(float64(len(a.failures)))
	if d, ok := a.failures.nextRetry(time.Now()); ok {
		a.queue.AddAfter(keySync, d)
	}
}
