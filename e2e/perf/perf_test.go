package perf

import (
	"context"
	"errors"
	"testing"
)

func TestParseIperf(t *testing.T) {
	out := []byte(`{"end":{"sum_sent":{"bytes":100,"bits_per_second":2e10,"retransmits":3},
	 "sum_received":{"bytes":99,"bits_per_second":1.5e10},
	 "cpu_utilization_percent":{"host_total":60,"remote_total":30}}}`)
	r, err := parseIperf(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Gbps != 15 || r.Retransmits != 3 || r.Bytes != 99 || r.CPUPerGbps() != 6 {
		t.Fatalf("got %+v cpu/Gbps %v", r, r.CPUPerGbps())
	}
	if _, err := parseIperf([]byte(`{"error":"unable to connect to server"}`)); !errors.Is(err, errIperf) {
		t.Fatalf("iperf3 error not reported: %v", err)
	}
	if _, err := parseIperf([]byte(`garbage`)); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestInterleave: cases run round by round in order, ratios are per round
// against the baseline, and a failing case is reported, not measured again.
func TestInterleave(t *testing.T) {
	var order []string
	base := []float64{10, 20, 40}
	round := 0
	mk := func(name string, f func(r int) (float64, error)) Case {
		return Case{Name: name, Run: func(context.Context) (Sample, error) {
			order = append(order, name)
			g, err := f(round)
			if name == "b" {
				round++ // b is the last case that keeps running
			}
			return Sample{Result: Result{Gbps: g}}, err
		}}
	}
	sums := Interleave(context.Background(), 3, "a", []Case{
		mk("a", func(r int) (float64, error) { return base[r], nil }),
		mk("b", func(r int) (float64, error) { return base[r] / 2, nil }),
		mk("c", func(int) (float64, error) { return 0, errors.New("no path") }),
	})
	if got := len(order); got != 7 { // a b c, a b, a b
		t.Fatalf("ran %d times: %v", got, order)
	}
	b, _ := Find(sums, "b")
	if b.Ratio != 0.5 || b.Gbps != 10 {
		t.Fatalf("b: ratio %v gbps %v", b.Ratio, b.Gbps)
	}
	if c, _ := Find(sums, "c"); c.Err == nil {
		t.Fatal("c's error lost")
	}
}
