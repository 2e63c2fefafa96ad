package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/pkg/doctor"
	"github.com/offload-overlay/offload-overlay/pkg/state"
)

// PrintDoctor prints, per node, the doctor summary: uplink, the features that
// matter, the mode and pod MTU per peer with the first reason, and the pod
// MTU the agent published.
func (l *Lab) PrintDoctor(ctx context.Context, w io.Writer) error {
	for _, n := range l.Nodes {
		self, err := l.Doctor(ctx, n, nil)
		if err != nil {
			return err
		}
		podMTU := "?"
		if st, err := state.Read(n.Dir); err == nil {
			podMTU = fmt.Sprintf("%d (%s)", st.MTU, st.Summary)
		}
		up := self.Path[0]
		fmt.Fprintf(w, "%s  %s  uplink %s (%s, mtu %d)  tx-udp_tnl-segmentation %s, tx-udp_tnl-csum-segmentation %s",
			n.Name, n.IPv4, up.Name, up.Kind, up.MTU, up.Features["tx-udp_tnl-segmentation"], up.Features["tx-udp_tnl-csum-segmentation"])
		if self.Verdict.UnderlayTunnel != "" {
			fmt.Fprintf(w, "  underlay tunnel %s at %s", self.Verdict.UnderlayTunnel, self.Verdict.UnderlayTunnelDevice)
		}
		fmt.Fprintf(w, "\n    pod MTU %s\n", podMTU)
		if b := self.BGP; b != nil {
			fmt.Fprintf(w, "    BGP: announcing %s (carried: %s)\n", strings.Join(b.Announced, ", "), map[bool]string{true: "yes", false: "no"}[b.Announcing])
			for _, s := range b.Sessions {
				fmt.Fprintf(w, "      session %s AS %d: %s for %s, prefixes sent %d, received %d, graceful restart %t\n",
					s.Peer, s.PeerAS, s.State, s.Uptime(time.Now()), s.PrefixesSent, s.PrefixesReceived, s.GracefulRestart)
			}
		}
		for _, p := range l.Nodes {
			if p == n {
				continue
			}
			r, err := l.Doctor(ctx, n, p)
			if err != nil {
				return err
			}
			reason := ""
			if len(r.Decision.Reasons) > 0 {
				reason = r.Decision.Reasons[0]
			}
			kernel, dev := "no pod", ""
			if pods := l.PodsOn(p.Name); len(pods) > 0 {
				kernel, dev, _ = l.KernelMode(n, pods[0].IPv4)
			}
			note := ""
			if r.Decision.Source != doctor.SourceAgentState {
				note = "  (peer not in the agent's peers file: doctor assumed a peer like this node)"
			}
			fmt.Fprintf(w, "    -> %-3s %-12s %-7s kernel route via %-10s doctor: %s, pod MTU %d%s\n       %s\n",
				p.Name, p.IPv4, kernel, dev, r.Decision.Mode, r.Decision.MTU, note, reason)
		}
	}
	return nil
}

// PairResult is one row of the pod-to-pod table.
type PairResult struct {
	From, To *Pod
	// Mode is what node From's kernel does towards pod To (KernelMode),
	// ReverseMode what To's kernel does towards From.
	Mode, ReverseMode string
	// Reason is doctor's first reason for the pair on From's node; Note
	// labels rows of a second lab ("variant 3 + BGP").
	Reason, Note string
	// Segmentation notes where super-packets were cut on the sender's uplink.
	UplinkPacket              float64
	Auto, VXLAN, Native, Bare perf.Summary
}

// MeasurePairs measures, for the first pod of each pair of nodes, the
// datapath in place, forced VXLAN, forced native (withNative) and bare node
// to node, interleaved over rounds.
func (l *Lab) MeasurePairs(ctx context.Context, rounds int, withNative bool, o perf.Options, progress func(string, ...any)) ([]PairResult, error) {
	if err := l.Tune(); err != nil {
		return nil, err
	}
	var rows []PairResult
	for i, a := range l.Nodes {
		for _, b := range l.Nodes[i+1:] {
			a, b := a, b
			if b.NoTunnelOffload && !a.NoTunnelOffload {
				a, b = b, a // send from the end that cuts in software
			}
			pa, pb := l.PodsOn(a.Name)[0], l.PodsOn(b.Name)[0]
			mode, _, err := l.KernelMode(a, pb.IPv4)
			if err != nil {
				return nil, err
			}
			cases := l.PairCases(pa, pb, o)
			if !withNative {
				cases = cases[:3]
			}
			start := time.Now()
			sums := perf.Interleave(ctx, rounds, CaseBare, cases)
			rev, _, err := l.KernelMode(b, pa.IPv4)
			if err != nil {
				return nil, err
			}
			row := PairResult{From: pa, To: pb, Mode: mode, ReverseMode: rev}
			if r, err := l.Doctor(ctx, a, b); err == nil && len(r.Decision.Reasons) > 0 {
				row.Reason = fmt.Sprintf("rule %d: %s", r.Decision.Rule, r.Decision.Reasons[0])
			}
			if l.cfg.BGP != nil {
				row.Note = "BGP"
			}
			row.Bare, _ = perf.Find(sums, CaseBare)
			row.Auto, _ = perf.Find(sums, CaseAuto)
			row.VXLAN, _ = perf.Find(sums, CaseVXLAN)
			row.Native, _ = perf.Find(sums, CaseNative)
			row.UplinkPacket = row.Auto.Sizes["uplink"]
			if lower, ok := row.Auto.Sizes["lower"]; ok {
				row.UplinkPacket = lower // the veth below a tunnel uplink: where nesting cuts
			}
			rows = append(rows, row)
			if progress != nil {
				progress("measured %s -> %s (%s): %s Gbit/s (%.1fs)", a.Name, b.Name, mode, gbps(row.Auto), time.Since(start).Seconds())
			}
		}
	}
	return rows, nil
}

func gbps(s perf.Summary) string {
	if s.Err != nil {
		if errors.Is(s.Err, ErrNoPath) {
			return "no path"
		}
		return "error"
	}
	return fmt.Sprintf("%.1f", s.Gbps)
}

func ratio(s perf.Summary) string {
	if s.Err != nil || s.Ratio == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", s.Ratio)
}

// PrintPairs prints the pod-to-pod table.
func PrintPairs(w io.Writer, rows []PairResult) {
	fmt.Fprintf(w, "%-12s %-9s %-12s %-9s %-16s %-16s %s\n", "pair", "mode", "Gbit/s", "uplink", "forced VXLAN", "bare node-node", "auto / VXLAN")
	for _, r := range rows {
		pair := fmt.Sprintf("%s->%s", r.From.Node, r.To.Node)
		if r.Note != "" {
			pair += " " + r.Note
		}
		vx := fmt.Sprintf("%s (%s)", gbps(r.VXLAN), ratio(r.VXLAN))
		speedup := "-"
		if r.Auto.Err == nil && r.VXLAN.Err == nil && r.VXLAN.Gbps > 0 {
			speedup = fmt.Sprintf("%.2fx", r.Auto.Gbps/r.VXLAN.Gbps)
		}
		fmt.Fprintf(w, "%-12s %-9s %-12s %-9s %-16s %-16s %s\n", pair, r.Mode,
			fmt.Sprintf("%s (%s)", gbps(r.Auto), ratio(r.Auto)), perf.FormatSize(r.UplinkPacket), vx, gbps(r.Bare), speedup)
		if r.Reason != "" {
			fmt.Fprintf(w, "    %s\n", r.Reason)
		}
	}
	fmt.Fprintln(w, strings.TrimSpace(`
(ratio) = to bare node-to-node in the same round; uplink = average packet the sender's uplink sent
(~44 KB: super-packets whole; ~1.5 KB: cut in software before the uplink); forced VXLAN = the same
pods over a static VXLAN overlay, as flannel builds it.`))
}
