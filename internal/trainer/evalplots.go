package trainer

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// scoreCap is where the score histogram's last bin begins: anomalies can
// score far above the threshold (1) and would squash the normals otherwise.
const scoreCap = 5.0

// evalPlots draws, for each group with test samples and for all of them,
// the ROC curve (when both classes are present) and the score histogram of
// normals and anomalies with the threshold line, into dir as
// roc_<group>.png, scores_<group>.png (and _all).
func (r *run) evalPlots(dir string, names []string, scores [][]float64, anomaly [][]bool) {
	var allS []float64
	var allA []bool
	for i, n := range names {
		allS, allA = append(allS, scores[i]...), append(allA, anomaly[i]...)
		r.groupEvalPlots(dir, n, "age group "+n, scores[i], anomaly[i])
	}
	r.groupEvalPlots(dir, "all", "all age groups", allS, allA)
}

func (r *run) groupEvalPlots(dir, name, title string, scores []float64, anomaly []bool) {
	if len(scores) == 0 {
		return
	}
	if err := scoreHistogram(filepath.Join(dir, "scores_"+name+".png"), title, scores, anomaly); err != nil {
		r.logf("cannot draw the score histogram of %s: %v", title, err)
	}
	pos := 0
	for _, a := range anomaly {
		if a {
			pos++
		}
	}
	if pos == 0 || pos == len(anomaly) {
		return // a ROC curve needs normals and anomalies
	}
	if err := rocPlot(filepath.Join(dir, "roc_"+name+".png"), title, scores, anomaly); err != nil {
		r.logf("cannot draw the ROC curve of %s: %v", title, err)
	}
}

// rocPoints is the ROC curve: (false positive rate, true positive rate) as
// the threshold falls through the scores, ties taken together.
func rocPoints(scores []float64, anomaly []bool) plotter.XYs {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var p, n float64
	for _, a := range anomaly {
		if a {
			p++
		} else {
			n++
		}
	}
	pts := plotter.XYs{{X: 0, Y: 0}}
	var tp, fp float64
	for k, i := range idx {
		if anomaly[i] {
			tp++
		} else {
			fp++
		}
		if k+1 < len(idx) && scores[idx[k+1]] == scores[i] {
			continue
		}
		pts = append(pts, plotter.XY{X: fp / n, Y: tp / p})
	}
	return pts
}

func rocPlot(path, title string, scores []float64, anomaly []bool) error {
	pl := plot.New()
	auc := rocAUC(scores, anomaly)
	pl.Title.Text = fmt.Sprintf("ROC curve, %s (AUROC %.3f)", title, auc)
	pl.X.Label.Text = "false positive rate (normals flagged)"
	pl.Y.Label.Text = "true positive rate (anomalies flagged)"
	pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = 0, 1, 0, 1
	l, err := plotter.NewLine(rocPoints(scores, anomaly))
	if err != nil {
		return err
	}
	l.Color = color.RGBA{B: 200, A: 255}
	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return err
	}
	chance.Color = color.Gray{Y: 150}
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	pl.Add(plotter.NewGrid(), chance, l)
	pl.Legend.Add("model", l)
	pl.Legend.Add("chance", chance)
	pl.Legend.Left, pl.Legend.Top = false, false
	return pl.Save(5*vg.Inch, 5*vg.Inch, path)
}

func scoreHistogram(path, title string, scores []float64, anomaly []bool) error {
	var normal, anom plotter.Values
	for i, s := range scores {
		if math.IsNaN(s) {
			continue
		}
		s = math.Min(s, scoreCap)
		if anomaly[i] {
			anom = append(anom, s)
		} else {
			normal = append(normal, s)
		}
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("Test scores, %s (%d normal, %d anomalous)", title, len(normal), len(anom))
	pl.X.Label.Text = fmt.Sprintf("score = reconstruction error / threshold (capped at %g)", scoreCap)
	pl.Y.Label.Text = "drawings"
	pl.X.Min, pl.X.Max = 0, scoreCap
	// Both histograms share bins over [0, scoreCap], so their bars line up.
	const bins = 25
	width := scoreCap / bins
	top := 1.0
	add := func(v plotter.Values, c color.NRGBA, label string) {
		if len(v) == 0 {
			return
		}
		h := &plotter.Histogram{Width: width, FillColor: c}
		h.LineStyle.Width = vg.Points(0.5)
		h.LineStyle.Color = color.NRGBA{R: c.R, G: c.G, B: c.B, A: 255}
		for i := 0; i < bins; i++ {
			h.Bins = append(h.Bins, plotter.HistogramBin{Min: float64(i) * width, Max: float64(i+1) * width})
		}
		for _, x := range v {
			h.Bins[min(bins-1, int(x/width))].Weight++
		}
		for _, b := range h.Bins {
			top = math.Max(top, b.Weight)
		}
		pl.Add(h)
		pl.Legend.Add(label, h)
	}
	add(normal, color.NRGBA{B: 200, A: 120}, "normal")
	add(anom, color.NRGBA{R: 210, A: 120}, "concern/severe")
	pl.Legend.Top = true
	th, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: top}})
	if err != nil {
		return err
	}
	th.Color = color.Black
	th.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	pl.Add(th)
	pl.Legend.Add("threshold (score 1)", th)
	return pl.Save(6*vg.Inch, 4*vg.Inch, path)
}
