package agent

import (
	"context"
	"time"
)

// probeTimeout bounds one native probe (three echo requests).
const probeTimeout = 3 * time.Second

// probeResults returns the published per-peer probe map: a peer is
// reachable natively when every family's probe succeeded.
func (a *Agent) probeResults(peers []Peer) map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out map[string]bool
	for _, p := range peers {
		if ok, seen := a.probeOK[p.Name]; seen {
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
	a.mu.Lock()
	fresh := a.targets == nil && len(ts) > 0 // first targets: confirm seeded results now
	a.targets = ts
	for _, t := range ts {
		if _, seen := a.probeOK[t.peer]; !seen {
			fresh = true
		}
	}
	a.mu.Unlock()
	if fresh {
		select {
		case a.probeKick <- struct{}{}:
		default:
		}
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
		case <-a.probeKick:
		}
		if a.probeAll(ctx) {
			a.queue.Add(keySync)
		}
	}
}

func (a *Agent) probeAll(ctx context.Context) (changed bool) {
	a.mu.Lock()
	targets := append([]probeTarget(nil), a.targets...)
	a.mu.Unlock()
	results := map[string]bool{}
	for _, t := range targets {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := a.kernel.ProbeNative(pctx, t.src, t.dst, t.gw, t.devIndex)
		cancel()
		ok := err == nil
		if prev, seen := results[t.peer]; seen {
			ok = ok && prev
		}
		results[t.peer] = ok
		if err != nil {
			a.metrics.Probes.WithLabelValues("failed").Inc()
			a.log.Debug("native probe failed", "peer", t.peer, "dst", t.dst, "via", t.gw, "err", err)
		} else {
			a.metrics.Probes.WithLabelValues("ok").Inc()
		}
	}
	if ctx.Err() != nil {
		return false // shutting down: a cancelled probe proves nothing
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for peer, ok := range results {
		if prev, seen := a.probeOK[peer]; !seen || prev != ok {
			changed = true
			a.log.Info("native probe result", "peer", peer, "ok", ok)
		}
	}
	for peer := range a.probeOK {
		if _, ok := results[peer]; !ok {
			delete(a.probeOK, peer)
			changed = true
		}
	}
	for peer, ok := range results {
		a.probeOK[peer] = ok
	}
	return changed
}
