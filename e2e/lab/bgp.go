package lab

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/offload-overlay/offload-overlay/internal/testenv/bgprouter"
	"github.com/offload-overlay/offload-overlay/pkg/bgp/bgpconfig"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// BGP makes the lab's router a top-of-rack BGP router (BIRD, package
// bgprouter) and the agents announce their pod CIDRs to it: the fabric
// learns the pod CIDRs instead of the lab programming them
// (Spec.PodRouteSegments stays empty).
type BGP struct {
	// NodeAS is every node's AS (--bgp-as; default 64512), FabricAS the
	// router's (default 65000): eBGP, as Calico and kube-router default to.
	NodeAS, FabricAS uint32
	// HoldTime for both ends (default 9 s, so a dead session is noticed fast).
	HoldTime time.Duration
	// GracefulRestart: --bgp-graceful-restart on the agents.
	GracefulRestart bool
	// Nodes run BGP (nil: all); the others get the Node label
	// offload-overlay.io/bgp-as=0, a rack without BGP in a mixed cluster.
	Nodes []string
}

func (b *BGP) defaults() {
	if b.NodeAS == 0 {
		b.NodeAS = 64512
	}
	if b.FabricAS == 0 {
		b.FabricAS = 65000
	}
	if b.HoldTime == 0 {
		b.HoldTime = 9 * time.Second
	}
}

func (b *BGP) speaks(node string) bool { return b.Nodes == nil || slices.Contains(b.Nodes, node) }

// Router is the lab's BGP router (nil without Config.BGP).
func (l *Lab) Router() *bgprouter.Router { return l.router }

// startRouter runs BIRD in the router namespace with every BGP node as a
// neighbour (its IPv4 node IP), before any agent starts.
func (l *Lab) startRouter(ctx context.Context) error {
	b := l.cfg.BGP
	if b == nil {
		return nil
	}
	if why := bgprouter.Available(); why != "" {
		return fmt.Errorf("lab with BGP: %s", why)
	}
	cfg := bgprouter.Config{Netns: l.Topo.Router, Dir: filepath.Join(l.RunDir, "bird"), AS: b.FabricAS, HoldTime: b.HoldTime}
	for _, n := range l.Nodes {
		if cfg.RouterID == (netip.Addr{}) {
			cfg.RouterID, _ = netip.ParseAddr(n.Gateway4)
		}
		if !b.speaks(n.Name) {
			continue
		}
		ip, err := netip.ParseAddr(n.IPv4)
		if err != nil {
			return fmt.Errorf("lab BGP needs IPv4 node IPs: %s: %w", n.Name, err)
		}
		cfg.Neighbors = append(cfg.Neighbors, bgprouter.Neighbor{Name: "node_" + n.Name, Address: ip, AS: b.NodeAS})
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	r, err := bgprouter.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("starting the lab's BGP router: %w", err)
	}
	l.router = r
	l.cfg.Progress("BGP: BIRD in %s, AS %d, %d neighbours (AS %d)", l.Topo.Router, b.FabricAS, len(cfg.Neighbors), b.NodeAS)
	return nil
}

func (l *Lab) stopRouter() {
	if l.router != nil {
		l.router.Stop()
		l.router = nil
	}
}

// RouterProtocol is the router's name for a node's session (birdc).
func RouterProtocol(n *Node) string { return "node_" + n.Name }

// bgpLabels are the Node labels a rack's operator would set: the node's
// top-of-rack router (the router's address on its segment), or BGP off.
func (l *Lab) bgpLabels(n *Node) map[string]string {
	b := l.cfg.BGP
	if b == nil {
		return nil
	}
	if !b.speaks(n.Name) {
		return map[string]string{bgpconfig.LabelAS: "0"}
	}
	return map[string]string{bgpconfig.LabelPeers: n.Gateway4 + "-" + strconv.FormatUint(uint64(b.FabricAS), 10)}
}

// bgpArgs are the cluster-wide agent flags (the DaemonSet's).
func (l *Lab) bgpArgs() []string {
	b := l.cfg.BGP
	if b == nil {
		return nil
	}
	args := []string{"--" + bgpconfig.FlagAS, strconv.FormatUint(uint64(b.NodeAS), 10),
		"--" + bgpconfig.FlagHoldTime, b.HoldTime.String()}
	if b.GracefulRestart {
		args = append(args, "--"+bgpconfig.FlagGracefulRestart)
	}
	return args
}

// waitBGPNative waits until every announcing node counts every path to
// another announcing node as native (the probes passed after the
// announcements), up to timeout.
func (l *Lab) waitBGPNative(ctx context.Context, timeout time.Duration) bool {
	var speakers []*Node
	for _, n := range l.Nodes {
		if l.cfg.BGP.speaks(n.Name) {
			speakers = append(speakers, n)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		done := true
		for _, n := range speakers {
			st, err := state.Read(n.Dir)
			if err != nil || st.Modes["native"] < (len(speakers)-1)*len(n.PodCIDRs) {
				done = false
			}
		}
		if done {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
