package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/datapath"
	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/mtu"
	"github.com/offload-overlay/offload-overlay/pkg/netaddr"
	"github.com/offload-overlay/offload-overlay/pkg/nodeinfo"
	"github.com/offload-overlay/offload-overlay/pkg/state"
	"github.com/offload-overlay/offload-overlay/pkg/version"
)

// sync converges the datapath to the nodes in the informer cache, in six
// steps: observe (the Nodes, our own Node, the underlay), admit peers
// (pkg/admission), decide every pair's path, program the difference,
// publish our facts, report (state and peers files, Events, metrics,
// condition). The desired set is recomputed in memory (cheap), then only
// the paths that differ from the last applied set are programmed, so a
// Node change costs O(1) netlink calls. full=true (resync timer) also
// refreshes the route lookups and lets the kernel side diff everything
// against the kernel.
func (a *Agent) sync(ctx context.Context, full bool) error {
	start := time.Now()
	nodes, err := a.observe(full)
	if err != nil {
		return err
	}
	peers, ignored, waiting := a.admit(nodes)
	if own := ownNode(nodes, a.cfg.NodeName); own != nil {
		a.ensureBGP(ctx, own)
	}
	a.noticePeerBGP(peers)
	a.sortLearnt(ctx, peers)
	v := a.decidePaths(peers, ignored, full)
	if err := a.program(v.paths, full); err != nil {
		return err
	}
	if err := a.ensureFirewall(peers, full); err != nil {
		return err
	}
	kind := "incremental"
	if full {
		kind = "resync"
	}
	a.metrics.ConvergeTime.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	a.lastSyncAt.Store(time.Now().Unix())
	a.reportUnreachable(v.paths)
	if err := a.publish(ctx); err != nil {
		a.metrics.Errors.WithLabelValues("publish").Inc()
		return err
	}
	return a.report(ctx, nodes, peers, waiting, v, full)
}

// observe lists the Nodes, notices a change of our own (checkLocal) and,
// on a full sync, forgets the underlay lookups so they are asked again.
func (a *Agent) observe(full bool) ([]*corev1.Node, error) {
	nodes, err := a.lister.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	if err := a.checkLocal(nodes); err != nil {
		return nil, err
	}
	if full || a.underlay.empty() {
		a.underlay.reset(a.kernel)
	}
	if full {
		// Repairs a firewall reload or `iptables -t nat -F` (atomically,
		// only when the chain differs: see pkg/masq).
		if err := a.kernel.EnsureMasquerade(a.local.PodCIDRs, a.cfg.ClusterCIDRs); err != nil {
			a.metrics.Errors.WithLabelValues("masquerade").Inc()
			return nil, fmt.Errorf("repairing masquerade rules: %w", err)
		}
	}
	return nodes, nil
}

// admit turns the Nodes into peers (pkg/admission, parsed Nodes cached by
// resourceVersion), and records this node's per-peer observations that go
// into its facts: native probe results and underlay coverage (rule 3).
func (a *Agent) admit(nodes []*corev1.Node) (peers []admission.Peer, ignored []admission.Ignored, waiting []string) {
	a.parsed.Begin()
	check := func(ip netip.Addr) error { return a.underlay.endpointOK(a.kernel, ip) }
	peers, ignored, waiting = admission.AdmitChecked(a.parsed.Parse, a.local, a.cfg.ClusterCIDRs, nodes, check)
	a.parsed.End()
	a.facts.NativeProbe = a.probeResults(peers)
	a.facts.UnderlayRoutes, a.facts.UnderlayDefault = a.underlayRoutes(peers)
	return peers, ignored, waiting
}

// decidePaths decides every pair's path and hands the probe loop its
// targets.
func (a *Agent) decidePaths(peers []admission.Peer, ignored []admission.Ignored, full bool) view {
	v := a.computePaths(a.local, a.facts, a.up, peers, a.routeTo)
	v.ignored = append(ignored, v.ignored...)
	a.logIgnored(v.ignored)
	a.setProbeTargets(v.probes)
	if full && a.reprobe.Swap(false) {
		a.kickProbes() // the underlay changed: native reachability may have too
	}
	return v
}

// report writes the state and peers files and the metrics, logs the first
// convergence, and sets the NetworkUnavailable condition.
func (a *Agent) report(ctx context.Context, nodes []*corev1.Node, peers []admission.Peer, waiting []string, v view, full bool) error {
	a.writeReady(v, full)
	a.writePeers(peers, v.ignored, v.paths)
	a.updateMetrics(v)
	if !a.ready.Swap(true) {
		a.log.Info("datapath converged; node ready", "peers", len(peers), "waiting", len(waiting),
			"ignored", len(v.ignored), "podMTU", v.podMTU, "modes", v.modes)
	}
	return a.ensureCondition(ctx, nodes, v)
}

// checkLocal notices a change of our own pod CIDRs or node IPs, which
// changes the probe addresses, tunnel devices and masquerade rules.
func (a *Agent) checkLocal(nodes []*corev1.Node) error {
	for _, n := range nodes {
		if n.Name != a.cfg.NodeName {
			continue
		}
		l, err := localNodeFrom(n, a.cfg.NodeIPs)
		if err != nil {
			return fmt.Errorf("reading own node: %w", err)
		}
		// What our Node carries now: a deleted or overwritten annotation is
		// published again by this sync.
		a.last.annotation = n.Annotations[nodeinfo.AnnotationKey]
		if slices.Equal(l.IPs, a.local.IPs) && slices.Equal(l.PodCIDRs, a.local.PodCIDRs) {
			return nil
		}
		a.log.Warn("own node IPs or pod CIDRs changed; re-initialising", "ips", l.IPs, "podCIDRs", l.PodCIDRs)
		// The new view is recorded only once initialisation succeeded: a
		// failure (the uplink address not there yet, the xtables lock
		// busy) leaves the old one, so the retry sees the change again.
		old := a.local
		a.local = l
		if err := a.initNode(context.Background()); err != nil {
			a.local = old
			return err
		}
		return nil
	}
	return fmt.Errorf("own node %s is gone from the API", a.cfg.NodeName)
}

// program applies the difference between the last applied paths and want.
// A path the kernel refuses does not fail the sync (see failures.go): it
// stays out of the applied set, so a later sync attempts it again once its
// backoff expired; only a failure of the node as a whole returns an error.
func (a *Agent) program(want []datapath.Path, full bool) error {
	now := time.Now()
	upsert, remove, next := a.applied.diff(want)
	// A refused path waits for its backoff (a full sync retries it anyway).
	var attempt []datapath.Path
	for _, p := range upsert {
		if full || a.failures.due(p.Key(), now) {
			attempt = append(attempt, p)
		} else {
			delete(next, p.Key())
		}
	}
	var err error
	if full {
		err = a.kernel.ResyncPaths(want)
		attempt = want
	} else if len(attempt)+len(remove) > 0 {
		err = a.kernel.ApplyPaths(attempt, remove)
	}
	failed, rest := datapath.FailedPaths(err)
	if rest != nil {
		a.metrics.Errors.WithLabelValues("apply").Inc()
		a.applied = appliedPaths{} // next attempt re-programs everything (idempotent)
		return fmt.Errorf("programming %d peer paths (%d removed): %w", len(attempt), len(remove), err)
	}
	byKey := make(map[string]datapath.Path, len(want))
	for _, p := range want {
		byKey[p.Key()] = p
	}
	for key := range failed {
		delete(next, key)
		a.metrics.Errors.WithLabelValues("path").Inc()
	}
	if a.failures == nil {
		a.failures = pathFailures{}
	}
	a.reportFailures(a.failures.update(want, attempt, failed, now), byKey)
	a.metrics.PathsProgramed.Add(float64(len(attempt) - len(failed) + len(remove)))
	for _, p := range remove {
		a.log.Info("peer path removed", "peer", p.Peer, "podCIDR", p.PodCIDR)
	}
	tried := make(map[string]bool, len(attempt))
	for _, p := range attempt {
		tried[p.Key()] = true
	}
	for _, p := range upsert {
		if _, bad := failed[p.Key()]; bad || !tried[p.Key()] {
			continue
		}
		a.log.Info("peer path programmed", "peer", p.Peer, "podCIDR", p.PodCIDR, "mode", p.Mode,
			"peerIP", p.PeerIP, "via", p.Via, "mtu", p.MTU, "reasons", p.Reasons)
	}
	a.applied = next
	return nil
}

func (a *Agent) routeTo(ip netip.Addr) (datapath.Route, error) {
	return a.underlay.routeTo(a.kernel, ip)
}

// underlayRoutes says, for each peer, whether this node's own routes (a
// default route included) send its pod CIDRs the way they send its node IP
// of the same family, and whether only a default route does (rules 2 and
// 3; linux.UnderlayCarries in pkg/datapath/linux).
func (a *Agent) underlayRoutes(peers []admission.Peer) (carries, byDefault map[string]bool) {
	carries, byDefault = map[string]bool{}, map[string]bool{}
	for _, p := range peers {
		all, dflt := len(p.PodCIDRs) > 0, false
		for _, c := range p.PodCIDRs {
			ip := p.IPs[netaddr.Index(c.Addr())]
			if !ip.IsValid() {
				all = false
				continue
			}
			got, err := a.underlay.carried(a.kernel, ip, c)
			if err != nil {
				a.log.Warn("checking underlay routes", "peer", p.Name, "podCIDR", c, "err", err)
			}
			all, dflt = all && got.ok, dflt || got.byDefault
		}
		if all {
			carries[p.Name], byDefault[p.Name] = true, dflt
		}
	}
	return carries, byDefault
}

// reportUnreachable logs, and records an Event on our Node, when a peer
// becomes unreachable (once per change of reason, not every sync).
func (a *Agent) reportUnreachable(paths []datapath.Path) {
	now := map[string]string{}
	for _, p := range paths {
		if p.Mode != decision.ModeUnreachable {
			continue
		}
		reason := strings.Join(p.Reasons, "; ")
		now[p.Key()] = reason
		if a.last.unreachable[p.Key()] == reason {
			continue
		}
		a.log.Warn("peer unreachable: no route installed", "peer", p.Peer, "podCIDR", p.PodCIDR, "reason", reason)
		a.recorder.Eventf(a.nodeRef, corev1.EventTypeWarning, "PeerUnreachable",
			"peer %s pod CIDR %s unreachable: %s", p.Peer, p.PodCIDR, reason)
	}
	a.last.unreachable = now
}

func (a *Agent) logIgnored(ignored []admission.Ignored) {
	now := map[string]string{}
	for _, ig := range ignored {
		now[ig.Name] = ig.Reason
		if a.last.ignored[ig.Name] != ig.Reason {
			a.log.Warn("ignoring node", "peer", ig.Name, "reason", ig.Reason)
			a.recorder.Eventf(a.nodeRef, corev1.EventTypeWarning, "PeerIgnored", "node %s ignored: %s", ig.Name, ig.Reason)
		}
	}
	a.last.ignored = now
}

// publish writes our facts annotation when it differs from what we
// published last.
func (a *Agent) publish(ctx context.Context) error {
	doc, err := json.Marshal(a.facts)
	if err != nil {
		return fmt.Errorf("encoding facts: %w", err)
	}
	if string(doc) == a.last.annotation {
		return nil
	}
	if err := publishFacts(ctx, a.nodes, a.cfg.NodeName, a.facts); err != nil {
		return err
	}
	a.last.annotation = string(doc)
	return nil
}

// ensureCondition sets NetworkUnavailable=False once converged, and again
// if someone else changed it.
func (a *Agent) ensureCondition(ctx context.Context, nodes []*corev1.Node, v view) error {
	for _, n := range nodes {
		if n.Name == a.cfg.NodeName && a.last.condition && a.conditionMatches(n) {
			return nil
		}
	}
	msg := fmt.Sprintf("offload-overlay-agent %s converged: %s", version.Version, a.summary(v))
	if err := setNetworkAvailable(ctx, a.nodes, a.cfg.NodeName, msg, time.Now()); err != nil {
		a.metrics.Errors.WithLabelValues("condition").Inc()
		return err
	}
	a.last.condition = true
	return nil
}

// summary is summary(v.modes) plus the paths the kernel refused.
func (a *Agent) summary(v view) string {
	s := summary(v.modes)
	if n := len(a.failures); n > 0 {
		s += fmt.Sprintf("; %d refused by the kernel (retrying)", n)
	}
	return s
}

func summary(modes map[string]int) string {
	if len(modes) == 0 {
		return "no peers"
	}
	var parts []string
	for _, m := range []decision.Mode{decision.ModeNative, decision.ModeVXLAN, decision.ModeGeneve, decision.ModeUnreachable} {
		if n := modes[string(m)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, m))
		}
	}
	return strings.Join(parts, ", ") + " peer paths"
}

// bigTCPLimit is the largest GSO/GRO size we hand to pods (the kernel's
// BIG TCP maximum in practice; veth and vxlan accept 185000 on the lab).
const bigTCPLimit = 185000

// writeReady writes the state file when its content changed (or on resync,
// to refresh updatedAt).
func (a *Agent) writeReady(v view, full bool) {
	s := state.NodeState{AgentVersion: version.Version, Node: a.cfg.NodeName, Ready: true, MTU: v.podMTU,
		Modes: v.modes, Summary: a.summary(v)}
	for _, c := range a.local.PodCIDRs {
		s.PodCIDRs = append(s.PodCIDRs, c.String())
	}
	if v.allNat && a.up.GSOMaxSize > mtu.BigTCPThreshold && a.up.GROMaxSize > mtu.BigTCPThreshold {
		s.GSOMaxSize, s.GROMaxSize = min(a.up.GSOMaxSize, bigTCPLimit), min(a.up.GROMaxSize, bigTCPLimit)
	}
	key, _ := json.Marshal(s)
	if string(key) == a.last.state && !full {
		return
	}
	s.UpdatedAt = time.Now().UTC()
	if err := state.Write(a.cfg.StateDir, &s); err != nil {
		a.metrics.Errors.WithLabelValues("state").Inc()
		a.log.Error("writing node state", "err", err)
		return
	}
	a.last.state = string(key)
}

// writeNotReady records why the node cannot take pods yet.
func (a *Agent) writeNotReady(reason string) {
	s := state.NodeState{AgentVersion: version.Version, Node: a.cfg.NodeName, Reason: reason}
	for _, c := range a.local.PodCIDRs {
		s.PodCIDRs = append(s.PodCIDRs, c.String())
	}
	key, _ := json.Marshal(s)
	if string(key) == a.last.state {
		return
	}
	s.UpdatedAt = time.Now().UTC()
	if err := state.Write(a.cfg.StateDir, &s); err != nil {
		a.log.Error("writing node state", "err", err)
		return
	}
	a.last.state = string(key)
}

func (a *Agent) updateMetrics(v view) {
	a.metrics.Peers.Reset()
	for m, n := range v.modes {
		a.metrics.Peers.WithLabelValues(m).Set(float64(n))
	}
	a.metrics.Unreachable.Set(float64(v.modes[string(decision.ModeUnreachable)]))
	a.metrics.Ignored.Set(float64(len(v.ignored)))
	a.metrics.PodMTU.Set(float64(v.podMTU))
	a.metrics.Ready.Set(1)
}
