package cnilat

import (
	"fmt"
	"io"
	"time"
)

// Print writes the table, the ratios to the ptp baselines with the issue's
// targets, and the binary sizes.
func (t *Table) Print(w io.Writer) {
	fmt.Fprintf(w, "CNI latency through libcni, host-local IPAM, %d pods per plugin, interleaved\n", t.Pods)
	fmt.Fprintf(w, "%-16s %9s %9s %9s %9s %10s %10s\n", "plugin", "ADD p50", "ADD p90", "DEL p50", "DEL p90", "file MB", "loaded MB")
	for _, r := range t.Rows {
		fmt.Fprintf(w, "%-16s %9s %9s %9s %9s %10.2f %10.2f\n", r.Case, ms(r.AddP50), ms(r.AddP90), ms(r.DelP50), ms(r.DelP90),
			mb(r.Size.File), mb(r.Size.Loaded))
	}
	oo := t.Row(OffloadOverlay)
	if oo == nil {
		return
	}
	for _, b := range []struct {
		base           string
		addMax, delMax float64 // targets, 0 = none
	}{{PTPMasq, 0.5, 0.5}, {PTPNoMasq, 0.9, 0}, {Bridge, 0, 0}} {
		r := t.Row(b.base)
		if r == nil {
			continue
		}
		fmt.Fprintf(w, "offload-overlay / %-14s ADD p50 %.2fx%s  ADD p90 %.2fx  DEL p50 %.2fx%s  DEL p90 %.2fx\n", b.base,
			ratio(oo.AddP50, r.AddP50), target(ratio(oo.AddP50, r.AddP50), b.addMax), ratio(oo.AddP90, r.AddP90),
			ratio(oo.DelP50, r.DelP50), target(ratio(oo.DelP50, r.DelP50), b.delMax), ratio(oo.DelP90, r.DelP90))
	}
	if p := t.Row(PTPNoMasq); p != nil {
		fmt.Fprintf(w, "binary size offload-overlay / ptp: file %.2fx, loaded %.2fx\n",
			float64(oo.Size.File)/float64(p.Size.File), float64(oo.Size.Loaded)/float64(p.Size.Loaded))
	}
}

// Ratio returns a's p50 ADD or DEL over b's ("ADD" or "DEL").
func (t *Table) Ratio(op, a, b string) float64 {
	ra, rb := t.Row(a), t.Row(b)
	if ra == nil || rb == nil {
		return 0
	}
	if op == "DEL" {
		return ratio(ra.DelP50, rb.DelP50)
	}
	return ratio(ra.AddP50, rb.AddP50)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func target(r, max float64) string {
	switch {
	case max == 0:
		return ""
	case r <= max:
		return fmt.Sprintf(" (target <=%.1f: met)", max)
	default:
		return fmt.Sprintf(" (target <=%.1f: MISSED)", max)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) float64 { return float64(b) / (1 << 20) }
