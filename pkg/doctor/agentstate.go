package doctor

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/decision"
	"github.com/offload-overlay/offload-overlay/pkg/state/peerstate"
)

// Where the decision's peer side comes from (Decision.Source).
const (
	// SourceAgentState: the peer's published facts and both ends' probe and
	// underlay results as the agent recorded them (its peers file), this
	// node's verdict, tunnel kinds and route freshly read from the kernel.
	SourceAgentState = "agent-state"
	// SourceLocalKernel: no agent record of the peer; a peer like this node.
	SourceLocalKernel = "local-kernel-only"
)

// AgentPath is what the agent recorded for the pair.
type AgentPath struct {
	Name      string        `json:"name"`
	Mode      decision.Mode `json:"mode"`
	MTU       int           `json:"mtu"`
	Rule      int           `json:"rule"`
	UpdatedAt time.Time     `json:"updatedAt"`
	// Failed is the kernel's refusal of this path at the agent's last
	// attempt ("" : programmed).
	Failed string `json:"failed,omitempty"`
}

// PeerDecision is one line of the peers list (no --peer, peers file present).
type PeerDecision struct {
	Name    string        `json:"name"`
	NodeIP  string        `json:"nodeIP"`
	PodCIDR string        `json:"podCIDR"`
	Mode    decision.Mode `json:"mode"`
	MTU     int           `json:"mtu"`
	Rule    int           `json:"rule"`
	Reasons []string      `json:"reasons"`
	// AgentMode is the mode the agent programmed, when it differs from Mode
	// (this node's kernel or doctor's flags changed since).
	AgentMode decision.Mode `json:"agentMode,omitempty"`
	// Failed is the kernel's refusal of this path at the agent's last
	// attempt ("" : programmed); see Report.FailedPaths.
	Failed string `json:"failed,omitempty"`
}

// agentState is the agent's peers file, or why there is none.
type agentState struct {
	file *peerstate.File
	path string
	note string // set when file is nil and a state dir was given
}

// loadAgentState reads the peers file in dir ("" : not consulted).
func loadAgentState(dir string) agentState {
	if dir == "" {
		return agentState{}
	}
	s := agentState{path: peerstate.PathIn(dir)}
	f, err := peerstate.Read(dir)
	switch {
	case err == nil:
		s.file = f
	case errors.Is(err, peerstate.ErrNotExist):
		s.note = fmt.Sprintf("no agent peers file %s (no agent has converged with --state-dir %s): peer facts assumed equal to this node's, probe results unknown", s.path, dir)
	default:
		s.note = fmt.Sprintf("agent peers file unusable (%v): peer facts assumed equal to this node's, probe results unknown", err)
	}
	return s
}

// apply replaces the assumed peer side with the agent's record of --peer
// when there is one, and says in the notes which it used.
func (s agentState) apply(o Options, in decision.Input, notes []string) (decision.Input, []string, *AgentPath) {
	if s.file == nil {
		if s.note != "" {
			notes = append(notes, s.note)
		}
		return in, notes, nil
	}
	ip, ok := netip.AddrFromSlice(o.Peer)
	if o.Peer == nil || !ok {
		return in, append(notes, fmt.Sprintf("the agent's decision for each of its peers: see the peers list (%s)", s.path)), nil
	}
	p, pa, found := s.lookup(ip.Unmap())
	if !found {
		return in, append(notes, fmt.Sprintf("%s is no peer in the agent's peers file %s (%s): not a node, ignored by the agent, or without a pod CIDR yet", o.Peer, s.path, countPeers(len(s.file.Peers)))), nil
	}
	in = fromAgent(in.Local, in.OnLink, p, pa)
	res := decision.Decide(o.Config, in)
	return in, s.agentNotes(o.Config, in, p, pa, res), &AgentPath{Name: p.Name, Mode: pa.Mode, MTU: pa.MTU, Rule: pa.Rule, UpdatedAt: s.file.UpdatedAt, Failed: pa.Failed}
}

// fromAgent is the input for one recorded path: the agent's peer side and
// its own probe and underlay results for the peer, with this node's
// verdict, tunnel kinds and uplink MTU as doctor just read them (local).
func fromAgent(local decision.Side, onLink bool, p peerstate.Peer, pa peerstate.Path) decision.Input {
	in := p.Input(pa)
	in.OnLink = onLink
	in.Local = local
	in.Local.NativeProbeOK = p.Local.NativeProbeOK
	in.Local.UnderlayCarriesPeerPodCIDR = p.Local.UnderlayCarriesPeerPodCIDR
	in.Local.BGPAnnounced = p.Local.BGPAnnounced
	return in
}

// agentNotes explain an agent-state decision: where the peer side comes
// from, the probe and underlay facts, and any drift since the agent wrote.
func (s agentState) agentNotes(cfg decision.Config, in decision.Input, p peerstate.Peer, pa peerstate.Path, res decision.Result) []string {
	notes := []string{fmt.Sprintf("peer %s (%s): its published facts and both ends' probe and underlay results from the agent's peers file %s; this node's verdict, tunnel kinds and route read now",
		p.Name, pa.NodeIP, s.path)}
	notes = append(notes, fmt.Sprintf("native probe: this node %s, %s %s; tunnel underlay carries the other's pod CIDR: this node %s, %s %s",
		okWord(in.Local.NativeProbeOK), p.Name, okWord(in.Peer.NativeProbeOK),
		yesNo(in.Local.UnderlayCarriesPeerPodCIDR), p.Name, yesNo(in.Peer.UnderlayCarriesPeerPodCIDR)))
	if in.Local.BGPAnnounced || in.Peer.BGPAnnounced {
		notes = append(notes, fmt.Sprintf("announced over BGP: this node %s, %s %s", yesNo(in.Local.BGPAnnounced), p.Name, yesNo(in.Peer.BGPAnnounced)))
	}
	if d := drift(p.Local, in.Local, pa.OnLink, in.OnLink); d != "" {
		notes = append(notes, "this node's kernel changed since the agent's last converge ("+d+"): the mode above is what the agent picks at its next converge")
	}
	if agentCfg := s.file.Config; !sameConfig(agentCfg, cfg) {
		notes = append(notes, fmt.Sprintf("the agent runs with %s, doctor with %s: the mode above follows doctor's flags", configWords(agentCfg), configWords(cfg)))
	}
	if res.Mode != pa.Mode {
		notes = append(notes, fmt.Sprintf("the agent programmed %s (rule %d) for %s", pa.Mode, pa.Rule, pa.PodCIDR))
	}
	if n := failedNote(pa); n != "" {
		notes = append(notes, n)
	}
	return notes
}

// drift names what differs between the agent's recorded local side and
// route and the ones doctor read.
func drift(was, now decision.Side, wasOnLink, nowOnLink bool) string {
	var d []string
	if was.Verdict.TunnelSegmentation != now.Verdict.TunnelSegmentation || was.Verdict.TunnelSegmentationCsum != now.Verdict.TunnelSegmentationCsum {
		d = append(d, fmt.Sprintf("tunnel segmentation %s -> %s", yesNo(was.Verdict.TunnelSegmentation), yesNo(now.Verdict.TunnelSegmentation)))
	}
	if was.Verdict.UnderlayTunnel != now.Verdict.UnderlayTunnel {
		d = append(d, fmt.Sprintf("underlay tunnel %q -> %q", was.Verdict.UnderlayTunnel, now.Verdict.UnderlayTunnel))
	}
	if was.UplinkMTU != now.UplinkMTU {
		d = append(d, fmt.Sprintf("uplink MTU %d -> %d", was.UplinkMTU, now.UplinkMTU))
	}
	if !slices.Equal(orVXLANOnly(was.Encaps), orVXLANOnly(now.Encaps)) {
		d = append(d, fmt.Sprintf("tunnel kinds %v -> %v", was.Encaps, now.Encaps))
	}
	if wasOnLink != nowOnLink {
		d = append(d, fmt.Sprintf("on-link %v -> %v", wasOnLink, nowOnLink))
	}
	return strings.Join(d, ", ")
}

func orVXLANOnly(es []string) []string {
	if len(es) == 0 {
		return []string{string(decision.ModeVXLAN)}
	}
	return es
}

func sameConfig(a, b decision.Config) bool {
	norm := func(c decision.Config) decision.Config {
		if c.Mode == "" {
			c.Mode = decision.ModeAuto
		}
		if c.Encap == "" || c.Encap == decision.ModeAuto {
			c.Encap = decision.ModeVXLAN
		}
		return c
	}
	return norm(a) == norm(b)
}

func configWords(c decision.Config) string {
	w := fmt.Sprintf("mode %s", orAuto(c.Mode))
	if c.UnderlayRoutesPodCIDRs {
		w += ", underlayRoutesPodCIDRs"
	}
	if c.AllowNestedEncap {
		w += ", allowNestedEncap"
	}
	if c.Encap == decision.ModeGeneve {
		w += ", encap geneve"
	}
	return w
}

func orAuto(m decision.Mode) decision.Mode {
	if m == "" {
		return decision.ModeAuto
	}
	return m
}

func countPeers(n int) string {
	if n == 1 {
		return "1 peer"
	}
	return fmt.Sprintf("%d peers", n)
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "not ok"
}

// lookup finds the recorded path towards ip.
func (s agentState) lookup(ip netip.Addr) (peerstate.Peer, peerstate.Path, bool) {
	if s.file == nil {
		return peerstate.Peer{}, peerstate.Path{}, false
	}
	return s.file.Lookup(ip)
}

// peersList recomputes every recorded path with this node's fresh side
// and the recorded route (doctor does not look up a route per peer).
func (s agentState) peersList(cfg decision.Config, local decision.Side) []PeerDecision {
	out := []PeerDecision{}
	for _, p := range s.file.Peers {
		for _, pa := range p.Paths {
			res := decision.Decide(cfg, fromAgent(local, pa.OnLink, p, pa))
			d := PeerDecision{Name: p.Name, NodeIP: pa.NodeIP, PodCIDR: pa.PodCIDR, Mode: res.Mode, MTU: res.MTU, Rule: res.Rule, Reasons: res.Reasons,
				Failed: pa.Failed}
			if res.Mode != pa.Mode {
				d.AgentMode = pa.Mode
			}
			out = append(out, d)
		}
	}
	return out
}
