package agent

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/offload-overlay/offload-overlay/pkg/admission"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgptypes"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// BGP in the agent: the speaker announces this node's pod CIDRs to the
// fabric (pkg/bgp); the agent publishes whether it announces (Facts.BGP),
// and re-probes whenever an announcement appears or disappears on either
// end of a pair, because the native probe, not BGP, decides (rule 2). A
// session that goes down is an Event on our Node.

// Speaker is the BGP speaker the agent drives: pkg/bgp's Manager, which
// starts, reconfigures and stops gobgp to match Ensure's arguments. The
// agent takes it as a dependency (Deps.BGP) rather than importing pkg/bgp
// because gobgp links netlink, and the controller links none.
type Speaker interface {
	// Ensure converges the speaker to cfg, the node IPs and the pod CIDRs.
	Ensure(ctx context.Context, cfg bgpconfig.Config, nodeIPs []netip.Addr, podCIDRs []netip.Prefix) error
	// Status reads the sessions and what is announced.
	Status(ctx context.Context) (bgptypes.Status, error)
	// Learnt reads the routes the peers sent (none without --bgp-import).
	Learnt(ctx context.Context) ([]bgptypes.Route, error)
	// Shutdown is the agent exiting (graceful restart abandons the
	// sessions, so the router keeps our routes).
	Shutdown(ctx context.Context) error
}

// NewSpeaker builds the agent's speaker, which calls onSession from its
// own goroutine on every session state change and onLearnt when a peer
// sent routes, and the collector of its metrics (nil: none) that the
// agent registers.
type NewSpeaker func(log *slog.Logger, onSession func(bgptypes.Session), onLearnt func()) (Speaker, prometheus.Collector)

// bgpReprobeDelay gives the router time to install (or remove) a route
// announced a moment ago before the second probe round after a change.
const bgpReprobeDelay = 2 * time.Second

// ensureBGP converges the speaker to the cluster flags with our Node's
// overrides, and records whether we announce. A bad Node label turns BGP
// off with an Event naming the key; it never stops the datapath.
func (a *Agent) ensureBGP(ctx context.Context, own *corev1.Node) {
	cfg, err := a.cfg.BGP.WithNode(own.Labels, own.Annotations)
	if err != nil {
		if msg := err.Error(); msg != a.bgpConfigErr {
			a.log.Error("BGP configuration of this node rejected: BGP off", "err", err)
			a.recorder.Eventf(a.nodeRef, corev1.EventTypeWarning, "BGPConfigInvalid", "BGP off: %s", msg)
			a.bgpConfigErr = msg
		}
		cfg = bgpconfig.Config{}
	} else {
		a.bgpConfigErr = ""
	}
	if err := a.bgp.Ensure(ctx, cfg, a.local.IPs, a.local.PodCIDRs); err != nil {
		a.metrics.Errors.WithLabelValues("bgp").Inc()
		a.log.Error("BGP speaker", "err", err)
	}
	st, err := a.bgp.Status(ctx)
	if err != nil {
		a.log.Warn("reading BGP sessions", "err", err)
	}
	a.bgpStatus = st
	announcing := st.Announcing
	if !announcing && a.bgpAnnouncing && time.Now().Before(a.bgpSeedUntil) && cfg.GracefulRestart {
		announcing = true // the router keeps our routes while our sessions come back
	}
	if st.Announcing || !cfg.GracefulRestart {
		a.bgpSeedUntil = time.Time{}
	}
	if !st.Announcing && anyEstablished(st.Sessions) {
		// Sessions come up and gobgp sends after the router's End-of-RIB:
		// look again shortly (the session watch reports states, not sends).
		a.queue.AddAfter(keySync, time.Second)
	}
	if announcing != a.bgpAnnouncing {
		a.log.Info("BGP announcement state", "announcing", announcing, "prefixes", st.Announced)
		a.bgpAnnouncing = announcing
		a.reprobeForBGP()
	}
	if a.facts.BGP != a.bgpAnnouncing {
		a.facts.BGP = a.bgpAnnouncing
		a.factsGen++
	}
}

// seedBGP starts from what our previous instance published: after a
// graceful restart the router still routes our pod CIDRs, so the fact
// stays true (no reason flap at the peers) until our sessions are back or
// the restart time ran out.
func (a *Agent) seedBGP(prev bool) {
	if prev && a.cfg.BGP.GracefulRestart {
		a.bgpAnnouncing = true
		a.bgpSeedUntil = time.Now().Add(a.cfg.BGP.RestartTime)
	}
}

// noticePeerBGP re-probes when a peer started or stopped announcing.
func (a *Agent) noticePeerBGP(peers []admission.Peer) {
	now := map[string]bool{}
	for _, p := range peers {
		if p.Facts.BGP {
			now[p.Name] = true
		}
	}
	if !maps.Equal(now, a.bgpPeers) {
		a.bgpPeers = now
		a.reprobeForBGP()
	}
}

// reprobeForBGP probes now and once more when the router had time to
// install the change.
func (a *Agent) reprobeForBGP() {
	a.kickProbes()
	time.AfterFunc(bgpReprobeDelay, a.kickProbes)
}

// onBGPSession runs on gobgp's goroutine for every session state change.
func (a *Agent) onBGPSession(s bgptypes.Session) {
	prev := a.bgpSessions.swap(s.Peer, s.State)
	if prev == bgptypes.StateEstablished && !s.Established() && a.recorder != nil {
		a.recorder.Eventf(a.nodeRef, corev1.EventTypeWarning, "BGPSessionDown",
			"BGP session with %s (AS %d) is %s: the router withdraws this node's pod CIDRs (unless graceful restart keeps them); pairs return to VXLAN when the native probe fails",
			s.Peer, s.PeerAS, s.State)
	}
	if s.Established() != (prev == bgptypes.StateEstablished) && a.queue != nil {
		// Announcements follow the session (after End-of-RIB with graceful
		// restart): look again now and shortly after.
		a.queue.Add(keySync)
		a.queue.AddAfter(keySync, time.Second)
	}
}

// ownNode is our Node in the informer's list.
func ownNode(nodes []*corev1.Node, name string) *corev1.Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// bgpKeys are the Node labels and annotations the agent reads for BGP
// (kept by trimNode, compared by relevantChange).
var bgpKeys = []string{bgpconfig.LabelAS, bgpconfig.LabelPeers}

func keepBGPKeys(from, to *corev1.Node) {
	for _, k := range bgpKeys {
		if v, ok := from.Labels[k]; ok {
			if to.Labels == nil {
				to.Labels = map[string]string{}
			}
			to.Labels[k] = v
		}
		if v, ok := from.Annotations[k]; ok {
			if to.Annotations == nil {
				to.Annotations = map[string]string{}
			}
			to.Annotations[k] = v
		}
	}
}

func bgpKeysChanged(o, n *corev1.Node) bool {
	for _, k := range bgpKeys {
		if o.Labels[k] != n.Labels[k] || o.Annotations[k] != n.Annotations[k] {
			return true
		}
	}
	return false
}

// bgpRecord is the speaker's state for the peers file (nil when off).
func (a *Agent) bgpRecord() *peerstate.BGP {
	st := a.bgpStatus
	if !st.Enabled {
		return nil
	}
	rec := &peerstate.BGP{Announcing: st.Announcing, Sessions: st.Sessions, Announced: []string{},
		Learnt: a.bgpLearnt.accepted, Rejected: a.bgpLearnt.rejected}
	for _, p := range st.Announced {
		rec.Announced = append(rec.Announced, p.String())
	}
	return rec
}

// bgpKey stands for the peers file's BGP content (peersKey).
func (a *Agent) bgpKey() string {
	rec := a.bgpRecord()
	if rec == nil {
		return ""
	}
	return fmt.Sprint(*rec)
}

func anyEstablished(ss []bgptypes.Session) bool {
	for _, s := range ss {
		if s.Established() {
			return true
		}
	}
	return false
}

// sessionBook remembers each BGP session's last state; gobgp reports
// changes from its own goroutine.
type sessionBook struct {
	mu    sync.Mutex
	state map[netip.Addr]string
}

// swap records state for peer and returns the previous one.
func (b *sessionBook) swap(peer netip.Addr, state string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = map[netip.Addr]string{}
	}
	prev := b.state[peer]
	b.state[peer] = state
	return prev
}
