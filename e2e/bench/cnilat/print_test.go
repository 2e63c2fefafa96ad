package cnilat

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 50); p != 50*time.Millisecond {
		t.Errorf("p50 %v", p)
	}
	if p := percentile(ds, 90); p != 90*time.Millisecond {
		t.Errorf("p90 %v", p)
	}
	if p := percentile(nil, 50); p != 0 {
		t.Errorf("empty p50 %v", p)
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its input")
	}
}

func TestPrintRatios(t *testing.T) {
	ms := time.Millisecond
	tbl := &Table{Pods: 100, Rows: []*Row{
		{Case: OffloadOverlay, AddP50: 8 * ms, AddP90: 10 * ms, DelP50: 20 * ms, DelP90: 25 * ms, Size: BinarySize{File: 3 << 20, Loaded: 3 << 20}},
		{Case: PTPMasq, AddP50: 40 * ms, AddP90: 50 * ms, DelP50: 100 * ms, DelP90: 120 * ms, Size: BinarySize{File: 6 << 20, Loaded: 4 << 20}},
		{Case: PTPNoMasq, AddP50: 10 * ms, AddP90: 12 * ms, DelP50: 25 * ms, DelP90: 30 * ms, Size: BinarySize{File: 6 << 20, Loaded: 4 << 20}},
	}}
	var b bytes.Buffer
	tbl.Print(&b)
	out := b.String()
	for _, want := range []string{"ADD p50 0.20x (target <=0.5: met)", "DEL p50 0.20x (target <=0.5: met)",
		"ADD p50 0.80x (target <=0.9: met)", "file 0.50x, loaded 0.75x"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if r := tbl.Ratio("DEL", OffloadOverlay, PTPNoMasq); r != 0.8 {
		t.Errorf("DEL ratio %v", r)
	}
	if got := SelectCases(DefaultCases(), []string{Bridge, OffloadOverlay}); len(got) != 2 || got[0].Name != OffloadOverlay {
		t.Errorf("SelectCases: %v", got)
	}
}
