package labbench

import (
	"context"
	"fmt"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/lab"
	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

// Variant is one underlay measured.
type Variant struct {
	Name      string
	Number    int
	PodRoutes bool
	// BigTCP: uplinks (and the switch) with BIG TCP sizes, as an operator
	// sets them on capable NICs; the agent then hands them to pods.
	BigTCP bool
	// Expect is what the issue expects auto to pick.
	Expect string
	// BGP: the router is a BGP top-of-rack (BIRD) and the agents announce
	// their pod CIDRs to it (lab.BGP) instead of the lab routing them.
	BGP bool
}

// Variants are the underlays `make bench` measures.
var Variants = []Variant{
	{Name: "1 same L2", Number: 1, Expect: "native"},
	{Name: "1 + BIG TCP uplinks", Number: 1, BigTCP: true, Expect: "native with BIG TCP in pods"},
	{Name: "2 two subnets, router", Number: 2, Expect: "vxlan (NIC segmentation)"},
	{Name: "3 no tunnel segmentation", Number: 3, Expect: "vxlan (software GSO)"},
	{Name: "3 + router routes pod CIDRs", Number: 3, PodRoutes: true, Expect: "native (probe)"},
	{Name: "3 + BGP", Number: 3, BGP: true, Expect: "native (announced over BGP, probe verified)"},
	{Name: "4 VXLAN underlay", Number: 4, Expect: "native, no second level"},
}

// Result of one variant.
type Result struct {
	Variant Variant
	// Mode is what the sender's kernel does towards the peer pod.
	Mode string
	// Doctor is the decision and first reason doctor gives on the sender.
	Doctor, Reason string
	Cases          []perf.Summary
	// TimeToNative is, with BGP, from the agents' start until the pair was
	// native (announcement, router install, both probes).
	TimeToNative time.Duration
	Err          error
}

// bgpProbePeriod is the agent's default --probe-period, which the BGP
// variant runs with: time to native must not wait for a periodic probe.
const bgpProbePeriod = 2 * time.Minute

// Case names beyond lab's.
const CaseBigTCP = "auto + BIG TCP"

// settleQuiet: a pair is labelled with its mode once no node's modes
// changed for this long (a native probe is retried 5 s after a failure).
const settleQuiet = 8 * time.Second

// Options of a run.
type Options struct {
	Rounds   int
	Duration time.Duration
	Prefix   string
	Site     int
	Progress func(string, ...any)
}

// Run measures one variant.
func Run(ctx context.Context, v Variant, o Options) Result {
	res := Result{Variant: v}
	spec, err := topo.VariantSpec(v.Number, v.PodRoutes)
	if err != nil {
		res.Err = err
		return res
	}
	spec.Prefix, spec.Site, spec.BigTCP = o.Prefix, o.Site, v.BigTCP
	cfg := lab.Config{Spec: spec, PodsPerNode: 1, Progress: o.Progress, SettleQuiet: settleQuiet}
	if v.BGP {
		cfg.BGP = &lab.BGP{GracefulRestart: true}
	}
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		res.Err = err
		return res
	}
	defer func() {
		if err := l.Down(); err != nil {
			o.Progress("teardown: %v", err)
		}
	}()
	res.TimeToNative = l.TimeToNative
	if err := l.Tune(); err != nil {
		res.Err = err
		return res
	}
	a, b := l.Nodes[0], l.Nodes[1]
	pa, pb := l.PodsOn(a.Name)[0], l.PodsOn(b.Name)[0]
	res.Mode, _, _ = l.KernelMode(a, pb.IPv4)
	if r, err := l.Doctor(ctx, a, b); err == nil {
		res.Doctor = string(r.Decision.Mode)
		if len(r.Decision.Reasons) > 0 {
			res.Reason = r.Decision.Reasons[0]
		}
	}
	po := perf.Options{Duration: o.Duration}
	cases := l.PairCases(pa, pb, po)
	if res.Mode == "native" && !v.BigTCP {
		cases = append(cases, perf.Case{Name: CaseBigTCP, Run: func(ctx context.Context) (perf.Sample, error) {
			restore, err := l.SetBigTCP(lab.BigTCPSize)
			defer func() {
				if restore != nil {
					_ = restore()
				}
			}()
			if err != nil {
				return perf.Sample{}, err
			}
			return l.PodToPod(ctx, pa, pb, po)
		}})
	}
	start := time.Now()
	res.Cases = perf.Interleave(ctx, o.Rounds, lab.CaseBare, cases)
	o.Progress("variant %s: auto = %s, %d cases x %d rounds (%.0fs)", v.Name, res.Mode, len(cases), o.Rounds, time.Since(start).Seconds())
	return res
}

// find returns the summary of a case, ok=false when missing or failed.
func (r Result) find(name string) (perf.Summary, bool) {
	s, err := perf.Find(r.Cases, name)
	return s, err == nil && s.Err == nil && s.Gbps > 0
}

// Targets lists the targets for this variant with the measured ratio
// (from medians of the same run) and whether it is met.
func (r Result) Targets() []string {
	auto, ok := r.find(lab.CaseAuto)
	if !ok {
		return nil
	}
	var out []string
	check := func(what string, got, want float64) {
		mark := "met"
		if got < want {
			mark = "NOT met"
		}
		out = append(out, fmt.Sprintf("%s: auto = %.2fx %s (target >= %.2fx): %s", r.Variant.Name, got, what, want, mark))
	}
	best, bestName := 0.0, ""
	for _, n := range []string{lab.CaseVXLAN, lab.CaseNative} {
		if s, ok := r.find(n); ok && s.Gbps > best {
			best, bestName = s.Gbps, n
		}
	}
	if best > 0 {
		check("the best mode ("+bestName+")", auto.Gbps/best, 0.95)
	}
	vx, okVX := r.find(lab.CaseVXLAN)
	switch {
	case r.Variant.Number == 1:
		if bare, ok := r.find(lab.CaseBare); ok {
			check("bare node-to-node", auto.Gbps/bare.Gbps, 0.95)
		}
		if okVX {
			check("forced VXLAN", auto.Gbps/vx.Gbps, 1.2)
		}
	case (r.Variant.Number == 3 && (r.Variant.PodRoutes || r.Variant.BGP)) || r.Variant.Number == 4:
		if okVX {
			check("forced VXLAN", auto.Gbps/vx.Gbps, 3)
		}
	}
	if r.Variant.BGP {
		if nat, ok := r.find(lab.CaseNative); ok {
			check("forced native", auto.Gbps/nat.Gbps, 0.95)
		}
		limit := bgpProbePeriod + 5*time.Second
		mark := "met"
		if r.TimeToNative <= 0 || r.TimeToNative > limit {
			mark = "NOT met"
		}
		out = append(out, fmt.Sprintf("%s: time from agent start to native %.1fs (target < probe period %s + 5s): %s",
			r.Variant.Name, r.TimeToNative.Seconds(), bgpProbePeriod, mark))
	}
	return out
}

// Mixed is variant 5: the four-node mixed cluster, every pair measured.
type Mixed struct {
	Rows []lab.PairResult
	Err  error
}

// RunMixed measures every node pair of variant 5 (auto, forced VXLAN, forced
// native, bare), interleaved per pair.
func RunMixed(ctx context.Context, o Options) Mixed {
	spec, err := topo.VariantSpec(5, false)
	if err != nil {
		return Mixed{Err: err}
	}
	spec.Prefix, spec.Site = o.Prefix, o.Site
	l, err := lab.Up(ctx, lab.Config{Spec: spec, PodsPerNode: 1, Progress: o.Progress, SettleQuiet: settleQuiet})
	if err != nil {
		return Mixed{Err: err}
	}
	defer func() {
		if err := l.Down(); err != nil {
			o.Progress("teardown: %v", err)
		}
	}()
	rows, err := l.MeasurePairs(ctx, o.Rounds, true, perf.Options{Duration: o.Duration}, o.Progress)
	return Mixed{Rows: rows, Err: err}
}
