package topofuzz

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Where generated labs live: the prefix names every namespace and the host
// link ("oo-tf-n1", "oo-tf-host"), the site their 172.S.0.0/16.
const (
	Prefix = "oo-tf-"
	Site   = 24
)

// DefaultSeeds run in `make test`: chosen so that together they use every
// building block (edges with and without a tunnel default route, the
// tunnel underlay, two-NIC nodes, bridge uplinks with guest ports, NICs
// without tunnel segmentation, partial and full router pod routes, IPv4,
// IPv6 and dual-stack). TestDefaultSeedsCoverBlocks keeps that true.
var DefaultSeeds = []int64{384, 18, 36}

// Seeds returns the seeds to run: $OO_FUZZ_SEEDS ("12" runs seeds 1..12,
// "7,19" runs those two, "100-120" a range), else DefaultSeeds.
func Seeds() ([]int64, error) {
	v := strings.TrimSpace(os.Getenv("OO_FUZZ_SEEDS"))
	if v == "" {
		return DefaultSeeds, nil
	}
	if n, err := strconv.Atoi(v); err == nil {
		var out []int64
		for i := 1; i <= n; i++ {
			out = append(out, int64(i))
		}
		return out, nil
	}
	var out []int64
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("OO_FUZZ_SEEDS %q: %w", v, err)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(strings.TrimSpace(hi), 10, 64); err != nil {
				return nil, fmt.Errorf("OO_FUZZ_SEEDS %q: %w", v, err)
			}
		}
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
	}
	return out, nil
}

// Repro is what a failing seed prints: the commands that rebuild its
// underlay alone, or the whole cluster kept up for inspection.
func Repro(seed int64) string {
	return fmt.Sprintf("rebuild the underlay: go run ./e2e/topo/cmd/oo-topo up --seed %d (remove: oo-topo down --prefix %s)\n"+
		"rebuild the cluster and keep it up: OO_FUZZ_KEEP=1 OO_FUZZ_SEEDS=%d,%d go test -count=1 -v -run TestTopologyFuzz ./e2e/topofuzz/",
		seed, Prefix, seed, seed)
}
