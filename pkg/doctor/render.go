package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/pkg/offload"
)

// JSON renders the report with stable keys, indented, newline-terminated.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding doctor report: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteText renders the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	r.textHeader(&b)
	r.textPath(&b)
	r.textSegmentation(&b)
	r.textVerdict(&b)
	r.textDecision(&b)
	r.textPeers(&b)
	r.textIgnored(&b)
	r.textFailed(&b)
	r.textBGP(&b, time.Now())
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) textHeader(b *strings.Builder) {
	fmt.Fprintf(b, "node %s", r.Node)
	if r.Peer != "" {
		fmt.Fprintf(b, ", peer %s", r.Peer)
	}
	fmt.Fprintf(b, "\nroute: dev %s", r.Route.Egress)
	if r.Route.Gateway != "" {
		fmt.Fprintf(b, " via %s", r.Route.Gateway)
	}
	if r.Route.Source != "" {
		fmt.Fprintf(b, " src %s", r.Route.Source)
	}
	if r.Peer != "" {
		fmt.Fprintf(b, " (%s)", map[bool]string{true: "on-link", false: "off-link"}[r.Route.OnLink])
	}
	var kinds []string
	for _, e := range r.Encaps {
		if e.OK {
			kinds = append(kinds, e.Kind+" yes")
		} else {
			kinds = append(kinds, fmt.Sprintf("%s no (%s)", e.Kind, e.Reason))
		}
	}
	fmt.Fprintf(b, "\nkernel can create: %s\n\n", strings.Join(kinds, "; "))
}

func (r *Report) textPath(b *strings.Builder) {
	b.WriteString("path (egress device first, then every device below it):\n")
	for _, d := range r.Path {
		fmt.Fprintf(b, "  %s: kind %s, driver %s, mtu %d, %s", d.Name, d.Kind, d.Driver, d.MTU, d.Relation)
		if d.Via != "" {
			fmt.Fprintf(b, " of %s", d.Via)
		}
		if d.Master != "" {
			fmt.Fprintf(b, ", master %s", d.Master)
		}
		if d.Tunnel != "" {
			fmt.Fprintf(b, ", TUNNEL (%s)", d.Tunnel)
		}
		if d.Note != "" {
			fmt.Fprintf(b, "\n    %s", d.Note)
		}
		fmt.Fprintf(b, "\n    gso_max_size %d gso_max_segs %d gro_max_size %d gso_ipv4_max_size %d gro_ipv4_max_size %d\n",
			d.GSOMaxSize, d.GSOMaxSegs, d.GROMaxSize, d.GSOIPv4MaxSize, d.GROIPv4MaxSize)
		if d.FeatureError != "" {
			fmt.Fprintf(b, "    features unreadable: %s\n", d.FeatureError)
		}
		for _, f := range offload.RelevantFeatures {
			if w, ok := d.Features[f]; ok {
				fmt.Fprintf(b, "    %s: %s\n", f, w)
			}
		}
	}
	b.WriteString("\n")
}

func (r *Report) textSegmentation(b *strings.Builder) {
	b.WriteString("where super-packets are cut:\n")
	for _, t := range []offload.Traffic{offload.TrafficNative, offload.TrafficVXLAN, offload.TrafficGeneve} {
		s := r.Segmentation[t]
		fmt.Fprintf(b, "  %-7s %s: %s\n", string(t)+":", s.Where, s.Detail)
	}
	b.WriteString("\n")
}

func (r *Report) textVerdict(b *strings.Builder) {
	v := r.Verdict
	fmt.Fprintf(b, "verdict: tunnel segmentation %s, with outer UDP checksum %s, underlay tunnel %s\n",
		yesNo(v.TunnelSegmentation), yesNo(v.TunnelSegmentationCsum), orNone(v.UnderlayTunnel, v.UnderlayTunnelDevice))
	for _, s := range v.Reasons {
		fmt.Fprintf(b, "  - %s\n", s)
	}
	b.WriteString("\n")
}

func (r *Report) textDecision(b *strings.Builder) {
	d := r.Decision
	fmt.Fprintf(b, "decision (mode %s): %s", d.Config.Mode, d.Mode)
	if d.Mode != "unreachable" {
		fmt.Fprintf(b, ", pod MTU %d", d.MTU)
	}
	if d.Rule > 0 {
		fmt.Fprintf(b, " (auto rule %d)", d.Rule)
	}
	if d.Source == SourceAgentState {
		b.WriteString(", peer side from the agent's state")
	}
	b.WriteString("\n")
	for _, s := range d.Reasons {
		fmt.Fprintf(b, "  - %s\n", s)
	}
}

func (r *Report) textPeers(b *strings.Builder) {
	if r.Peers == nil {
		return
	}
	b.WriteString("\npeers (the agent's record, decided again with this node's kernel as read now):\n")
	for _, p := range r.Peers {
		fmt.Fprintf(b, "  %s %s (%s): %s", p.Name, p.NodeIP, p.PodCIDR, p.Mode)
		if p.Mode != "unreachable" {
			fmt.Fprintf(b, ", pod MTU %d", p.MTU)
		}
		if p.Rule > 0 {
			fmt.Fprintf(b, " (auto rule %d)", p.Rule)
		}
		if p.AgentMode != "" {
			fmt.Fprintf(b, "; the agent programmed %s", p.AgentMode)
		}
		if p.Failed != "" {
			b.WriteString("; NOT PROGRAMMED: refused by the kernel, retried with backoff")
		}
		b.WriteString("\n")
		for _, s := range p.Reasons {
			fmt.Fprintf(b, "    - %s\n", s)
		}
	}
	if len(r.Peers) == 0 {
		b.WriteString("  none\n")
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}

func orNone(kind, dev string) string {
	switch {
	case kind == "":
		return "none"
	case dev == "":
		return kind
	}
	return kind + " at " + dev
}

// textBGP lists the speaker's sessions; uptime is relative to now.
func (r *Report) textBGP(b *strings.Builder, now time.Time) {
	if r.BGP == nil {
		return
	}
	fmt.Fprintf(b, "\nBGP: announcing %s", strings.Join(r.BGP.Announced, ", "))
	if !r.BGP.Announcing {
		b.WriteString(" (no established session carries them)")
	}
	b.WriteString("\n")
	for _, s := range r.BGP.Sessions {
		fmt.Fprintf(b, "  peer %s AS %d: %s", s.Peer, s.PeerAS, s.State)
		if s.Established() {
			fmt.Fprintf(b, " for %s", s.Uptime(now))
		}
		fmt.Fprintf(b, ", prefixes sent %d, received %d", s.PrefixesSent, s.PrefixesReceived)
		if s.GracefulRestart {
			b.WriteString(", graceful restart")
		}
		b.WriteString("\n")
	}
	r.textLearnt(b)
}

// textLearnt lists the routes learnt over BGP (--bgp-import): those the
// import rules accepted, then the refused ones with the rule.
func (r *Report) textLearnt(b *strings.Builder) {
	if len(r.BGP.Learnt)+len(r.BGP.Rejected) == 0 {
		return
	}
	fmt.Fprintf(b, "  learnt routes: %d accepted, %d rejected\n", len(r.BGP.Learnt), len(r.BGP.Rejected))
	for _, rt := range r.BGP.Learnt {
		fmt.Fprintf(b, "    %s via %s from %s: accepted\n", rt.Prefix, rt.NextHop, rt.Peer)
	}
	for _, rj := range r.BGP.Rejected {
		fmt.Fprintf(b, "    %s via %s from %s: rejected, %s\n", rj.Prefix, rj.NextHop, rj.Peer, rj.Reason)
	}
}
