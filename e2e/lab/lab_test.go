package lab

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/offload-overlay/offload-overlay/e2e/perf"
	"github.com/offload-overlay/offload-overlay/e2e/topo"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// TestManualDatapath brings a lab up with the lab's own routes (no agent) on
// each variant and checks pod-to-pod reachability and a short measurement.
func TestManualDatapath(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		variant int
		path    Datapath
	}{{2, DatapathVXLAN}, {4, DatapathNative}} {
		t.Run(fmt.Sprintf("variant%d-%s", tc.variant, tc.path), func(t *testing.T) {
			spec, _ := topo.VariantSpec(tc.variant, false)
			spec.Prefix, spec.Site = "oom-", 27
			ctx := context.Background()
			l, err := Up(ctx, Config{Spec: spec, Datapath: tc.path, Progress: t.Logf})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := l.Down(); err != nil {
					t.Error(err)
				}
			})
			for _, a := range l.Pods {
				for _, b := range l.Pods {
					for _, ip := range []string{b.IPv4, b.IPv6} {
						if out, err := topo.Exec(a.Netns, "ping", "-c1", "-W2", ip); err != nil {
							t.Errorf("%s -> %s: %v %s", a.Netns, ip, err, out)
						}
					}
				}
			}
			if err := l.Tune(); err != nil {
				t.Fatal(err)
			}
			pa, pb := l.PodsOn("n1")[0], l.PodsOn("n2")[0]
			sums := perf.Interleave(ctx, 1, CaseBare, l.PairCases(pa, pb, perf.Options{Duration: time.Second}))
			for _, s := range sums {
				t.Logf("%-18s %6.1f Gbit/s ratio %.2f cpu/Gbps %.1f sizes %v err %v", s.Name, s.Gbps, s.Ratio, s.CPUPerGbps, s.Sizes, s.Err)
			}
		})
	}
}
