package agent

import (
	"context"
	"sync"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
)

// probeTimeout bounds one native probe (three echo requests).
const probeTimeout = 3 * time.Second

// probeWorkers bounds concurrent probes: 1000 silent off-link peers cost
// 1000/16 x 3 s instead of 50 minutes, with at most 16 probe routes and raw
// sockets open at a time.
const probeWorkers = 16

// runProbes probes every target; a peer's result is the AND over its families.
func (a *Agent) runProbes(ctx context.Context, targets []probeTarget) map[string]bool {
	results := map[string]bool{}
	var mu sync.Mutex
	work := make(chan probeTarget)
	var wg sync.WaitGroup
	for range min(probeWorkers, len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				pctx, cancel := context.WithTimeout(ctx, probeTimeout)
				err := a.kernel.ProbeNative(pctx, t.src, t.dst, t.gw, t.devIndex)
				cancel()
				a.recordProbe(t, err)
				mu.Lock()
				prev, seen := results[t.peer]
				results[t.peer] = err == nil && (!seen || prev)
				mu.Unlock()
			}
		}()
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
	return results
}

func (a *Agent) recordProbe(t probeTarget, err error) {
	if err != nil {
		a.metrics.Probes.WithLabelValues("failed").Inc()
		a.log.Debug("native probe failed", "peer", t.peer, "dst", t.dst, "via", t.gw, "err", err)
		return
	}
	a.metrics.Probes.WithLabelValues("ok").Inc()
}

// probeResults returns the published per-peer probe map: a peer is
// reachable natively when every family's probe succeeded.
func (a *Agent) probeResults(peers []admission.Peer) map[string]bool {
	a.probes.mu.Lock()
	defer a.probes.mu.Unlock()
	var out map[string]bool
	for _, p := range peers {
		if ok, seen := a.probes.ok[p.Name]; seen {
			if out == nil {
				out = map[string]bool{}
			}
			out[p.Name] = ok
		}
	}
	return out
}

// setProbeTargets hands the probe loop the current off-link peers and
// kicks it when a peer was never probed.
func (a *Agent) setProbeTargets(ts []probeTarget) {
	a.probes.mu.Lock()
	fresh := a.probes.targets == nil && len(ts) > 0 // first targets: confirm seeded results now
	a.probes.targets = ts
	for _, t := range ts {
		if _, seen := a.probes.ok[t.peer]; !seen {
			fresh = true
		}
	}
	a.probes.mu.Unlock()
	if fresh {
		a.kickProbes()
	}
}

// kickProbes asks the probe loop for a round now.
func (a *Agent) kickProbes() {
	select {
	case a.probes.kick <- struct{}{}:
	default:
	}
}

// probeLoop re-probes every off-link peer on a slow timer and when new
// peers appear; a changed result triggers a sync, which republishes our
// annotation and lets both ends recompute the pair.
func (a *Agent) probeLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.ProbePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.probes.kick:
		}
		if a.probeAll(ctx) {
			a.queue.Add(keySync)
		}
	}
}

func (a *Agent) probeAll(ctx context.Context) (changed bool) {
	a.probes.mu.Lock()
	targets := append([]probeTarget(nil), a.probes.targets...)
	a.probes.mu.Unlock()
	results := a.runProbes(ctx, targets)
	if ctx.Err() != nil {
		return false // shutting down: a cancelled probe proves nothing
	}
	a.probes.mu.Lock()
	defer a.probes.mu.Unlock()
	for peer, ok := range results {
		if prev, seen := a.probes.ok[peer]; !seen || prev != ok {
			changed = true
			a.log.Info("native probe result", "peer", peer, "ok", ok)
		}
	}
	for peer := range a.probes.ok {
		if _, ok := results[peer]; !ok {
			delete(a.probes.ok, peer)
			changed = true
		}
	}
	for peer, ok := range results {
		a.probes.ok[peer] = ok
	}
	return changed
}
