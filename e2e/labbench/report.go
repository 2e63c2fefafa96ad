package labbench

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/lab"
	"github.com/offload-overlay/offload-overlay/e2e/perf"
)

// Kernel returns `uname -r`.
func Kernel() string {
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// WriteMarkdown writes the report: header (kernel, machine, method), one
// table row per variant and case, the targets, BIG TCP, and the CNI latency
// table (cniTable, preformatted, may be empty).
func WriteMarkdown(w io.Writer, results []Result, mixed *Mixed, o Options, chart, cniTable string) {
	fmt.Fprintf(w, "# Lab benchmark: pod-to-pod throughput per underlay and mode\n\n")
	fmt.Fprintf(w, "Kernel %s, %d CPUs, %s, %s.\n\n", Kernel(), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version())
	fmt.Fprintf(w, "Method: two node namespaces per variant (e2e/topo), the real agent against a real kube-apiserver, one pod per node through the real CNI plugin; "+
		"one iperf3 TCP stream (cubic, client and server pinned to one CPU, pod receive buffer %q), %s per run, %d interleaved rounds; "+
		"medians, and ratios to bare node-to-node from the same round (median of per-round ratios). "+
		"CPU%% per Gbit/s = (client + server CPU%% from iperf3) / Gbit/s. Packet size = bytes / packets the sender's uplink sent "+
		"(for a VXLAN underlay, the veth below it): ~44 KB means super-packets reached the wire whole, ~1.5 KB that they were cut in software before it. "+
		"Forced VXLAN = the same pods over a static VXLAN overlay (as flannel's), forced native = /32 routes via the peer or the router.\n\n",
		perf.RcvBuf, o.Duration, o.Rounds)
	fmt.Fprintf(w, "| variant | auto picked | case | Gbit/s | ratio to bare | CPU%%/Gbit/s | bytes/packet on uplink |\n|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "| %s | error | %v | | | | |\n", r.Variant.Name, oneLine(r.Err))
			continue
		}
		for _, s := range r.Cases {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", r.Variant.Name, r.Mode, s.Name, gbps(s), ratio(s), cpu(s), size(s))
		}
	}
	fmt.Fprintf(w, "\n![throughput per variant and mode](%s)\n\n", chart)
	if mixed != nil {
		writeMixed(w, *mixed)
	}
	fmt.Fprintf(w, "## Targets (ratios of medians, same run)\n\n")
	for _, r := range results {
		for _, t := range r.Targets() {
			fmt.Fprintf(w, "- %s\n", t)
		}
	}
	for _, r := range results {
		auto, okA := r.find(lab.CaseAuto)
		nat, okN := r.find(lab.CaseNative)
		if r.Variant.Number == 1 && !r.Variant.BigTCP && okA && okN && auto.Ratio < 0.95 && nat.Ratio < 0.95 {
			fmt.Fprintf(w, "\nOn variant 1, auto and the lab's own native routes (no agent rules) land at the same %.2fx / %.2fx of bare node-to-node: "+
				"that is the routed pod path's own cost on this kernel (two more veth pairs and two forwarding steps than node to node), "+
				"not the agent's choice; BIG TCP (below) lifts pod-to-pod above bare.\n", auto.Ratio, nat.Ratio)
		}
	}
	fmt.Fprintf(w, "\n## BIG TCP on vs off (native paths)\n\n")
	var plain, big *Result
	for i := range results {
		switch {
		case results[i].Variant.Number == 1 && !results[i].Variant.BigTCP:
			plain = &results[i]
		case results[i].Variant.BigTCP:
			big = &results[i]
		}
	}
	if plain != nil && big != nil {
		a, okA := plain.find(lab.CaseAuto)
		b, okB := big.find(lab.CaseAuto)
		if okA && okB {
			fmt.Fprintf(w, "- the agent's own BIG TCP (uplinks with BIG TCP sizes, the agent hands them to pods through the state file): "+
				"auto %.1f -> %.1f Gbit/s, %.2fx bare node-to-node of its run (uplink packets %s)\n", a.Gbps, b.Gbps, b.Ratio, perf.FormatSize(b.Sizes["uplink"]))
		}
	}
	for _, r := range results {
		on, okOn := r.find(CaseBigTCP)
		off, okOff := r.find(lab.CaseAuto)
		if okOn && okOff {
			fmt.Fprintf(w, "- %s: %.1f -> %.1f Gbit/s (%.2fx), packets on the uplink %s -> %s\n", r.Variant.Name, off.Gbps, on.Gbps, on.Gbps/off.Gbps,
				perf.FormatSize(off.Sizes["uplink"]), perf.FormatSize(on.Sizes["uplink"]))
		}
	}
	for _, r := range results {
		on, okOn := r.find(CaseBigTCP)
		off, okOff := r.find(lab.CaseAuto)
		if okOn && okOff && r.Variant.Number == 4 && on.Gbps < off.Gbps {
			fmt.Fprintf(w, "\nBIG TCP loses over a tunnel underlay: an outer UDP/IPv4 header cannot describe a packet above 64 KB, "+
				"so the underlay's VXLAN device has the >64 KB super-packets cut in software first. Keep BIG TCP where every hop is a plain device "+
				"(the agent does: it derives pod sizes from the uplink's own gso_max_size, 64 KB on a VXLAN device unless raised).\n")
		}
	}
	fmt.Fprintf(w, "\n## What auto picked and why (doctor on the sending node)\n\n")
	for _, r := range results {
		fmt.Fprintf(w, "- %s (expected %s): kernel route %s; doctor: %s: %s\n", r.Variant.Name, r.Variant.Expect, r.Mode, r.Doctor, r.Reason)
	}
	if cniTable != "" {
		fmt.Fprintf(w, "\n## CNI ADD/DEL latency (e2e/bench/cnilat)\n\n```\n%s```\n", cniTable)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func gbps(s perf.Summary) string {
	if s.Err != nil {
		if errors.Is(s.Err, lab.ErrNoPath) {
			return "does not connect"
		}
		return "error: " + oneLine(s.Err)
	}
	return fmt.Sprintf("%.1f", s.Gbps)
}

func ratio(s perf.Summary) string {
	if s.Err != nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", s.Ratio)
}

func cpu(s perf.Summary) string {
	if s.Err != nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", s.CPUPerGbps)
}

func size(s perf.Summary) string {
	if s.Err != nil {
		return "-"
	}
	b := s.Sizes["uplink"]
	if lower, ok := s.Sizes["lower"]; ok {
		return fmt.Sprintf("%s (veth below: %s)", perf.FormatSize(b), perf.FormatSize(lower))
	}
	return perf.FormatSize(b)
}

// writeMixed writes variant 5's per-pair table: decisions differ per pair,
// and both ends must agree.
func writeMixed(w io.Writer, m Mixed) {
	fmt.Fprintf(w, "## 5 mixed cluster (n1 on a; n2, n3 on b, n3 without tunnel segmentation; n4 on a VXLAN underlay)\n\n")
	if m.Err != nil {
		fmt.Fprintf(w, "error: %s\n\n", oneLine(m.Err))
		return
	}
	fmt.Fprintf(w, "| pair | auto (both ends) | auto Gbit/s (ratio) | forced VXLAN | forced native | bare | bytes/packet |\n|---|---|---|---|---|---|---|\n")
	for _, r := range m.Rows {
		agree := r.Mode
		if r.ReverseMode != r.Mode {
			agree = fmt.Sprintf("%s / %s DISAGREE", r.Mode, r.ReverseMode)
		}
		fmt.Fprintf(w, "| %s->%s | %s | %s (%s) | %s (%s) | %s (%s) | %s | %s |\n", r.From.Node, r.To.Node, agree,
			gbps(r.Auto), ratio(r.Auto), gbps(r.VXLAN), ratio(r.VXLAN), gbps(r.Native), ratio(r.Native), gbps(r.Bare),
			perf.FormatSize(r.UplinkPacket))
	}
	fmt.Fprintln(w)
}
