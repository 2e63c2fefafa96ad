// Command oo-demo is `make demo`: a 4-node lab spanning the underlay variants
// 1-4 (same L2, two subnets behind a router, an uplink without tunnel
// segmentation, an uplink that is itself a VXLAN device), the real agent on
// every node against a real kube-apiserver, two pods per node through the
// real CNI plugin; it prints each node's doctor summary and a pod-to-pod
// table, then removes everything.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/lab"
	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

func main() {
	datapath := flag.String("datapath", "agent", "agent, or native|vxlan to program the lab's own routes without an agent")
	dur := flag.Duration("t", 2*time.Second, "iperf3 duration per measurement")
	rounds := flag.Int("rounds", 1, "interleaved rounds per pair")
	keep := flag.Bool("keep", false, "leave the lab up (remove it with: oo-topo down)")
	flag.Parse()
	if err := run(lab.Datapath(*datapath), *dur, *rounds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func progress(format string, args ...any) {
	fmt.Printf("demo: "+format+"\n", args...)
}

func run(dp lab.Datapath, dur time.Duration, rounds int, keep bool) error {
	begin := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	spec, err := topo.VariantSpec(5, false)
	if err != nil {
		return err
	}
	progress("bringing up 4 nodes: n1 on segment a; n2, n3 on segment b behind the router (n3 without tunnel segmentation, like virtio-net); n4 on a VXLAN underlay whose router carries pod CIDRs")
	l, err := lab.Up(ctx, lab.Config{Spec: spec, Datapath: dp, Progress: progress, SettleQuiet: 8 * time.Second})
	if err != nil {
		return err
	}
	if !keep {
		defer func() {
			start := time.Now()
			if err := l.Down(); err != nil {
				fmt.Fprintln(os.Stderr, "demo: teardown:", err)
				return
			}
			left, _ := topo.Leftovers(spec.Prefix)
			progress("removed everything (%.1fs); leftovers: %d; total %.0fs", time.Since(start).Seconds(), len(left), time.Since(begin).Seconds())
		}()
	}
	fmt.Println("\n== per node: doctor's summary; per peer the mode in force (the kernel's route) and doctor's reason ==")
	if err := l.PrintDoctor(ctx, os.Stdout); err != nil {
		return err
	}
	fmt.Println()
	progress("measuring pod-to-pod throughput (iperf3, one stream pinned to CPU 1, %s per run)", dur)
	rows, err := l.MeasurePairs(ctx, rounds, false, perf.Options{Duration: dur}, progress)
	if err != nil {
		return err
	}
	if dp == lab.DatapathAgent {
		if !keep {
			if err := l.Down(); err != nil {
				return fmt.Errorf("teardown before the BGP lab: %w", err)
			}
		}
		bgpRows, err := runBGP(ctx, dur, rounds, keep)
		if err != nil {
			return err
		}
		rows = append(rows, bgpRows...)
	}
	fmt.Println("\n== pod to pod ==")
	lab.PrintPairs(os.Stdout, rows)
	fmt.Println()
	return nil
}

// runBGP is the second lab: variant 3 (two subnets behind the router,
// uplinks without tunnel segmentation) where the router is a BGP
// top-of-rack (BIRD) and the agents announce their pod CIDRs to it.
func runBGP(ctx context.Context, dur time.Duration, rounds int, keep bool) ([]lab.PairResult, error) {
	if keep {
		progress("skipping the BGP lab with -keep (one lab at a time)")
		return nil, nil
	}
	spec, err := topo.VariantSpec(3, false)
	if err != nil {
		return nil, err
	}
	progress("bringing up variant 3 with BGP: n1 and n2 on two subnets behind a BIRD top-of-rack router, no tunnel segmentation; the agents announce their pod CIDRs")
	l, err := lab.Up(ctx, lab.Config{Spec: spec, BGP: &lab.BGP{GracefulRestart: true}, Progress: progress, SettleQuiet: 8 * time.Second})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := l.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "demo: teardown of the BGP lab:", err)
		}
	}()
	fmt.Println("\n== variant 3 + BGP: per node doctor's summary and BGP sessions ==")
	if err := l.PrintDoctor(ctx, os.Stdout); err != nil {
		return nil, err
	}
	if out, err := l.Router().Birdc(ctx, "show", "route"); err == nil {
		fmt.Printf("\nthe router's table (birdc show route):\n%s\n", out)
	}
	return l.MeasurePairs(ctx, rounds, false, perf.Options{Duration: dur}, progress)
}
