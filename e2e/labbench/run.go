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
}

// Variants are the underlays `make bench` measures.
var Variants = []Variant{
	{"1 same L2", 1, false, false, "native"},
	{"1 + BIG TCP uplinks", 1, false, true, "native with BIG TCP in pods"},
	{"2 two subnets, router", 2, false, false, "vxlan (NIC segmentation)"},
	{"3 no tunnel segmentation", 3, false, false, "vxlan (software GSO)"},
	{"3 + router routes pod CIDRs", 3, true, false, "native (probe)"},
	{"4 VXLAN underlay", 4, false, false, "native, no second level"},
}

// Result of one variant.
type Result struct {
	Variant Variant
	// Mode is what the sender's kernel does towards the peer pod.
	Mode string
	// Doctor is the decision and first reason doctor gives on the sender.
	Doctor, Reason string
	Cases          []perf.Summary
	Err            error
}

// Case names beyond lab's.
const CaseBigTCP = "auto + BIG TCP"

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
	l, err := lab.Up(ctx, lab.Config{Spec: spec, PodsPerNode: 1, Progress: o.Progress})
	if err != nil {
		res.Err = err
		return res
	}
	defer func() {
		if err := l.Down(); err != nil {
			o.Progress("teardown: %v", err)
		}
	}()
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
	case (r.Variant.Number == 3 && r.Variant.PodRoutes) || r.Variant.Number == 4:
		if okVX {
			check("forced VXLAN", auto.Gbps/vx.Gbps, 3)
		}
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
	l, err := lab.Up(ctx, lab.Config{Spec: spec, PodsPerNode: 1, Progress: o.Progress})
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
