package perf

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
)

// Case is one thing measured in every round.
type Case struct {
	Name string
	// Run measures once; an error (e.g. the path does not connect) ends
	// the case: it is reported instead of a figure.
	Run func(ctx context.Context) (Sample, error)
}

// Sample is one measurement.
type Sample struct {
	Result
	// Sizes are average transmitted packet sizes per device label.
	Sizes map[string]float64
}

// Summary is the median over rounds of one case.
type Summary struct {
	Name string
	// Gbps, CPUPerGbps: medians. Ratio: median of the per-round ratios to
	// the baseline case of the same round.
	Gbps, CPUPerGbps, Ratio float64
	Sizes                   map[string]float64
	Samples                 []Sample
	// Err is set when the case failed in any round (no figures then).
	Err error
}

// Interleave runs every case once per round, in order, for rounds rounds, and
// summarises each against the case named baseline.
func Interleave(ctx context.Context, rounds int, baseline string, cases []Case) []Summary {
	sums := make([]Summary, len(cases))
	for i, c := range cases {
		sums[i].Name = c.Name
	}
	base := -1
	for i, c := range cases {
		if c.Name == baseline {
			base = i
		}
	}
	for r := 0; r < rounds; r++ {
		for i, c := range cases {
			if sums[i].Err != nil {
				continue
			}
			s, err := c.Run(ctx)
			if err != nil {
				sums[i].Err = err
				slog.Debug("case failed", "case", c.Name, "round", r+1, "err", err)
				continue
			}
			sums[i].Samples = append(sums[i].Samples, s)
		}
	}
	for i := range sums {
		summarise(&sums[i], sums, base)
	}
	return sums
}

func summarise(s *Summary, all []Summary, base int) {
	if s.Err != nil || len(s.Samples) == 0 {
		return
	}
	var g, cpu, ratio []float64
	sizes := map[string][]float64{}
	for r, x := range s.Samples {
		g = append(g, x.Gbps)
		cpu = append(cpu, x.CPUPerGbps())
		if base >= 0 && all[base].Err == nil && r < len(all[base].Samples) && all[base].Samples[r].Gbps > 0 {
			ratio = append(ratio, x.Gbps/all[base].Samples[r].Gbps)
		}
		for k, v := range x.Sizes {
			sizes[k] = append(sizes[k], v)
		}
	}
	s.Gbps, s.CPUPerGbps, s.Ratio = Median(g), Median(cpu), Median(ratio)
	s.Sizes = map[string]float64{}
	for k, v := range sizes {
		s.Sizes[k] = Median(v)
	}
}

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Find returns the summary called name.
func Find(sums []Summary, name string) (Summary, error) {
	for _, s := range sums {
		if s.Name == name {
			return s, nil
		}
	}
	return Summary{}, fmt.Errorf("no case %q", name)
}
