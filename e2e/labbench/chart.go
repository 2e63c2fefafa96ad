package labbench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/offload-overlay/offload-overlay/e2e/lab"
)

// chartCases are the bars of each variant group.
var chartCases = []struct {
	name  string
	color color.RGBA
}{
	{lab.CaseBare, color.RGBA{120, 120, 120, 255}},
	{lab.CaseAuto, color.RGBA{30, 120, 200, 255}},
	{CaseBigTCP, color.RGBA{20, 60, 140, 255}},
	{lab.CaseVXLAN, color.RGBA{220, 120, 30, 255}},
	{lab.CaseNative, color.RGBA{60, 170, 80, 255}},
}

// WriteChart draws median Gbit/s per variant (groups) and case (bars) into
// a PNG file.
func WriteChart(path string, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "pod-to-pod TCP, one stream pinned (median Gbit/s), kernel " + Kernel()
	p.Y.Label.Text = "Gbit/s"
	var names []string
	for _, r := range results {
		names = append(names, r.Variant.Name)
	}
	w := vg.Points(16)
	for i, c := range chartCases {
		vals := make(plotter.Values, len(results))
		for j, r := range results {
			if s, ok := r.find(c.name); ok {
				vals[j] = s.Gbps
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("bar chart %s: %w", c.name, err)
		}
		bars.LineStyle.Width = 0
		bars.Color = c.color
		bars.Offset = w * vg.Length(i-len(chartCases)/2)
		p.Add(bars)
		p.Legend.Add(c.name, bars)
	}
	p.Legend.Top = true
	p.NominalX(names...)
	if err := p.Save(30*vg.Centimeter, 14*vg.Centimeter, path); err != nil {
		return fmt.Errorf("saving chart %s: %w", path, err)
	}
	return nil
}
