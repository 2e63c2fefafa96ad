// Command oo-bench is `make bench`'s lab part: throughput per underlay
// variant and mode, BIG TCP, and the CNI ADD/DEL latency table, written as
// Markdown and a PNG chart to e2e/results/.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/bench/cnilat"
	"github.com/offload-overlay/offload-overlay/e2e/labbench"
)

func main() {
	o := labbench.Options{Prefix: "oob-", Site: 25}
	flag.IntVar(&o.Rounds, "rounds", 3, "interleaved rounds")
	flag.DurationVar(&o.Duration, "t", 3*time.Second, "iperf3 duration per run")
	out := flag.String("out", "e2e/results", "directory for the Markdown report and PNG chart")
	only := flag.String("variants", "", "comma-separated variant names' leading numbers to run (default all), e.g. 1,4")
	pods := flag.Int("cni-pods", 100, "pods per plugin for the ADD/DEL latency table (0 skips it)")
	flag.Parse()
	o.Progress = func(f string, a ...any) { fmt.Printf("bench: "+f+"\n", a...) }
	if err := run(o, *out, *only, *pods); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o labbench.Options, out, only string, pods int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var results []labbench.Result
	for _, v := range labbench.Variants {
		if only != "" && !strings.Contains(","+only+",", ","+v.Name[:1]+",") {
			continue
		}
		o.Progress("variant %s: bringing up 2 nodes", v.Name)
		r := labbench.Run(ctx, v, o)
		if r.Err != nil {
			o.Progress("variant %s: %v", v.Name, r.Err)
		}
		results = append(results, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	var mixed *labbench.Mixed
	if only == "" || strings.Contains(","+only+",", ",5,") {
		o.Progress("variant 5 mixed cluster: bringing up 4 nodes")
		m := labbench.RunMixed(ctx, o)
		mixed = &m
	}
	cni := ""
	if pods > 0 {
		o.Progress("CNI ADD/DEL latency, %d pods per plugin", pods)
		t, err := cniLatency(ctx, pods)
		if err != nil {
			cni = "error: " + err.Error() + "\n"
		} else {
			cni = t
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	base := "lab-bench-" + labbench.Kernel()
	png := base + ".png"
	if err := labbench.WriteChart(filepath.Join(out, png), results); err != nil {
		return err
	}
	var md bytes.Buffer
	labbench.WriteMarkdown(&md, results, mixed, o, png, cni)
	mdPath := filepath.Join(out, base+".md")
	if err := os.WriteFile(mdPath, md.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Print(md.String())
	o.Progress("wrote %s and %s", mdPath, filepath.Join(out, png))
	return nil
}

func cniLatency(ctx context.Context, pods int) (string, error) {
	work, err := os.MkdirTemp("", "oo-cnilat-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	ref := os.Getenv("REF_CNI_DIR")
	if ref == "" {
		home, _ := os.UserHomeDir()
		ref = filepath.Join(home, ".cache/offload-overlay/cni-plugins-v1.9.1")
	}
	abs, _ := filepath.Abs("bin/offload-overlay")
	t, err := cnilat.Measure(ctx, cnilat.Options{Pods: pods, PluginBin: abs, RefDir: ref, WorkDir: work})
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	t.Print(&b)
	return b.String(), nil
}
