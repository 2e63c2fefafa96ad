package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/offload-overlay/offload-overlay/e2e/bench/cnilat"
	"github.com/offload-overlay/offload-overlay/internal/testenv/cnienv"
)

// BenchmarkCNILatency prints ADD/DEL p50/p90 of offload-overlay, ptp
// (ipMasq true and false) and bridge through libcni, interleaved, and the
// ratios to ptp. Nothing is asserted on time. OO_BENCH_PODS overrides the
// pod count (default 100); OO_BENCH_CASES a comma-separated subset of the
// row names (e.g. for profiling one plugin); OO_PLUGIN_BIN the plugin binary (default
// bin/offload-overlay from `make build`, else a fresh go build).
func BenchmarkCNILatency(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	pods := 100
	if s := os.Getenv("OO_BENCH_PODS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("OO_BENCH_PODS: %v", err)
		}
		pods = n
	}
	bin := pluginBin(b)
	cases := cnilat.DefaultCases()
	if only := os.Getenv("OO_BENCH_CASES"); only != "" { // e.g. "offload-overlay,ptp (no masq)"
		cases = cnilat.SelectCases(cases, strings.Split(only, ","))
	}
	for range b.N {
		t, err := cnilat.Measure(context.Background(), cnilat.Options{
			Pods: pods, PluginBin: bin, Cases: cases, RefDir: cnienv.RefDir(), WorkDir: b.TempDir(),
		})
		if err != nil {
			b.Fatal(err)
		}
		t.Print(os.Stdout)
		oo := t.Row(cnilat.OffloadOverlay)
		if oo == nil {
			continue
		}
		b.ReportMetric(float64(oo.AddP50.Microseconds())/1000, "add-p50-ms")
		b.ReportMetric(float64(oo.DelP50.Microseconds())/1000, "del-p50-ms")
		b.ReportMetric(t.Ratio("ADD", cnilat.OffloadOverlay, cnilat.PTPMasq), "add-p50/ptp-masq")
		b.ReportMetric(t.Ratio("ADD", cnilat.OffloadOverlay, cnilat.PTPNoMasq), "add-p50/ptp")
		b.ReportMetric(t.Ratio("DEL", cnilat.OffloadOverlay, cnilat.PTPMasq), "del-p50/ptp-masq")
	}
}

func pluginBin(b *testing.B) string {
	if os.Getenv("OO_PLUGIN_BIN") == "" {
		if p, err := filepath.Abs("../../bin/offload-overlay"); err == nil {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, err := cnienv.BuildPlugin(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return p
}
