package trainer

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
	"github.com/sagetrain/sagetrain/internal/trainer/progress"
)

// minThresholdNormals is how many validation normals a group needs for its
// threshold to come from validation errors (unbiased: not fitted); below it
// the training normals' errors are used.
const minThresholdNormals = 20

// MetricDefinition is a SageMaker metric definition: the regex's first group
// is the value, matched against the trainer's stdout.
type MetricDefinition struct {
	Name  string `json:"name"`
	Regex string `json:"regex"`
}

const num = `([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)`

// finalMetrics are printed as "metric: <name>=<value>" lines at the end.
var finalMetrics = []string{"test_auroc", "test_average_precision", "test_precision", "test_recall", "test_f1",
	"test_false_positive_rate", "test_error_mean", "test_error_p95", "val_loss", "train_loss", "epochs_trained", "n_train"}

// MetricDefinitions returns the regexes that match the trainer's stdout:
// per-epoch train_loss/val_loss (on "epoch=..." lines) and the final
// "metric: name=value" lines. The job spec uses them as its default.
func MetricDefinitions() []MetricDefinition {
	defs := []MetricDefinition{
		{Name: "epoch:train_loss", Regex: `^epoch=\d+ group=\S+ train_loss=` + num},
		{Name: "epoch:val_loss", Regex: `^epoch=\d+ group=\S+ train_loss=\S+ val_loss=` + num},
	}
	for _, m := range finalMetrics {
		defs = append(defs, MetricDefinition{Name: m, Regex: `^metric: ` + m + `=` + num})
	}
	return defs
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// finish computes thresholds, evaluates on the test split and writes the
// model, metrics, history and loss curves.
func (r *run) finish(sets map[string]*features.Set, sp splits, settings features.Settings, norm Normalization,
	groups, short []AgeGroup, gtrain, gval []autoencoder.Matrix, res map[string]groupResult) error {
	p := r.p
	man := Manifest{
		Format: ModelFormat, FormatVersion: FormatVersion, Features: settings, Normalization: norm, Trainer: buildinfo.Get(),
		Architecture: Architecture{Type: "autoencoder", Input: len(norm.Mean), Hidden: p.HiddenSizes,
			LayerSizes: autoencoder.Sizes(len(norm.Mean), p.HiddenSizes), Activation: "relu", Dropout: p.Dropout,
			Params: autoencoder.ParamCount(len(norm.Mean), p.HiddenSizes)},
		ThresholdPercentile: p.ThresholdPercentile, SkippedGroups: short, Hyperparameters: p,
		ErrorMetric:     "mse: mean over the standardised features of the squared reconstruction difference",
		ScoreDefinition: scoreDefinition(p),
		ScoreMethod:     p.ScoreMethod, KNNNeighbours: p.KNNNeighbours,
	}
	if man.SkippedGroups == nil {
		man.SkippedGroups = []AgeGroup{}
	}
	man.Provenance = r.provenance()
	params := make([][]float32, len(groups))
	nets := make([]*autoencoder.Net, len(groups))
	for i, g := range groups {
		gr := res[g.Name]
		net, err := autoencoder.FromParams(len(norm.Mean), p.HiddenSizes, 0, gr.Params)
		if err != nil {
			return errs.Job("trained weights of group "+g.Name+" do not fit the network", "retrain", err)
		}
		nets[i], params[i] = net, gr.Params
		mg := ModelGroup{AgeGroup: g, NValidation: gval[i].Rows, BestEpoch: gr.BestEpoch, EpochsTrained: gr.Epochs,
			BestValLoss: gr.BestVal, TrainedOnHost: gr.Host}
		man.Groups = append(man.Groups, mg)
		man.NTrain += g.NTrain
		man.NValidation += gval[i].Rows
	}
	if cpu, ok := cpuSeconds(); ok {
		// What a local job "costs"; kept out of the model and its metrics,
		// which identical runs must write byte for byte.
		_ = writeJSON(filepath.Join(r.l.OutputDataDir(), UsageFile), map[string]float64{"cpu_seconds": cpu})
	}
	if p.ScoreMethod == ScoreEnsemble {
		man.KNNBlocks, man.KNNWeight, man.KNNYearRefs = knnBlocksFor(norm), p.KNNWeight, p.KNNYearRefs
	}
	trainAges, valAges := make([][]float64, len(groups)), make([][]float64, len(groups))
	for i := range groups {
		trainAges[i], valAges[i] = normalAges(sp.train, groups, i), normalAges(sp.val, groups, i)
	}
	scorers := newScorers(p, nets, gtrain, trainAges, knnWeights(norm, man.KNNBlocks))
	for i, sc := range scorers {
		sc.addReference(norm.warpedMatrix(sp.train, groups, i))
		man.KNNCopies = sc.copies
	}
	calibrateThresholds(p, scorers, gval, valAges, man.Groups)
	refs := make([]autoencoder.Matrix, len(groups))
	for i, sc := range scorers {
		refs[i] = sc.ref
	}
	if err := writeModel(r.l.ModelDir(), man, params, refs); err != nil {
		return errs.Job("cannot write the model to "+r.l.ModelDir(), "check the free space of the model folder", err)
	}

	// Evaluation on the test split, per group (by floor(age); nearest group outside all ranges) and overall.
	type acc struct {
		errs, scores []float64
		anom         []bool
	}
	per := make([]acc, len(groups))
	var all acc
	var flagged, single int // anomalous verdicts, and those one feature decides
	// Each group's test rows are scored in one batch (one pass over its
	// kNN reference, not one per drawing); zs[i], aes[i], raws[i] are row i's.
	zs := make([][]float32, len(sp.test))
	aes, raws := make([]float64, len(sp.test)), make([]float64, len(sp.test))
	for gi := range groups {
		var idx []int
		var x []float32
		var ages []float64
		for i, s := range sp.test {
			if g, _ := nearestGroup(groups, s.AgeYears); g == gi {
				zs[i] = make([]float32, len(s.X))
				norm.apply(s.X, zs[i])
				idx, x, ages = append(idx, i), append(x, zs[i]...), append(ages, s.AgeYears)
			}
		}
		if len(idx) == 0 {
			continue
		}
		ae, _, raw := scorers[gi].raw(x, ages, len(idx))
		for j, i := range idx {
			aes[i], raws[i] = ae[j], raw[j]
		}
	}
	for i, s := range sp.test {
		gi, _ := nearestGroup(groups, s.AgeYears)
		z := zs[i]
		e, sc := aes[i], raws[i] // no honest threshold: ranked by the raw score, never flagged
		if t := man.Groups[gi].Threshold; t > 0 {
			sc = raws[i] / t
		} else {
			sc = math.Min(sc, 1)
		}
		a := s.Label != "normal"
		if sc > 1 {
			flagged++
			if _, share := largestFeature(nets[gi], z); share > singleFeatureShare {
				single++
			}
		}
		per[gi].errs, per[gi].scores, per[gi].anom = append(per[gi].errs, e), append(per[gi].scores, sc), append(per[gi].anom, a)
		all.errs, all.scores, all.anom = append(all.errs, e), append(all.scores, sc), append(all.anom, a)
	}
	overall := evaluate(all.errs, all.scores, all.anom)

	metrics := map[string]any{}
	put := func(k string, v *float64) {
		if v == nil || math.IsNaN(*v) {
			metrics[k] = nil
			return
		}
		metrics[k] = *v
	}
	put("test_auroc", overall.AUROC)
	put("test_average_precision", overall.AP)
	put("test_precision", overall.Precision)
	put("test_recall", overall.Recall)
	put("test_f1", overall.F1)
	put("test_false_positive_rate", overall.FalsePositiveRate)
	put("test_error_mean", ptr(overall.ErrorMean))
	put("test_error_p95", ptr(overall.ErrorP95))
	put("test_error_p99", ptr(overall.ErrorP99))
	metrics["n_test"] = overall.N
	metrics["n_test_anomalies"] = overall.NAnomalies
	// How often one feature carries more than half of an anomalous verdict's error (issue 19).
	metrics["test_flagged"] = flagged
	metrics["test_flagged_single_feature"] = single
	var valSum, trainSum float64
	var valN, trainN, epochsMax, epochsTotal int
	groupsOut := map[string]any{}
	history := map[string][]autoencoder.EpochStats{}
	for i, g := range groups {
		gr := res[g.Name]
		best := gr.History[max(gr.BestEpoch, 1)-1]
		trainSum += best.TrainLoss * float64(g.NTrain)
		trainN += g.NTrain
		if gval[i].Rows > 0 {
			valSum += gr.BestVal * float64(gval[i].Rows)
			valN += gval[i].Rows
		}
		epochsMax, epochsTotal = max(epochsMax, gr.Epochs), epochsTotal+gr.Epochs
		ev := evaluate(per[i].errs, per[i].scores, per[i].anom)
		mg := man.Groups[i]
		groupsOut[g.Name] = map[string]any{
			"age_min": g.Min, "age_max": g.Max, "n_train": g.NTrain, "n_validation": gval[i].Rows,
			"threshold": mg.Threshold, "threshold_source": mg.ThresholdSource, "calibration": mg.Calibration, "best_epoch": gr.BestEpoch,
			"epochs_trained": gr.Epochs, "val_loss": gr.BestVal, "train_loss": best.TrainLoss, "host": gr.Host, "test": ev,
		}
		history[g.Name] = gr.History
	}
	put("val_loss", ptr(valSum/math.Max(float64(valN), 1)))
	if valN == 0 {
		metrics["val_loss"] = nil
	}
	put("train_loss", ptr(trainSum/float64(trainN)))
	metrics["epochs_trained"] = epochsMax
	metrics["epochs_trained_total"] = epochsTotal
	metrics["n_train"] = man.NTrain
	metrics["n_validation"] = man.NValidation
	metrics["n_groups"] = len(groups)
	metrics["n_groups_skipped"] = len(short)
	metrics["threshold_percentile"] = p.ThresholdPercentile
	metrics["groups"] = groupsOut
	metrics["skipped_groups"] = man.SkippedGroups
	metrics["test_from"] = sp.testFrom
	metrics["validation_from"] = sp.valFrom
	if err := writeJSON(filepath.Join(r.l.ModelDir(), MetricsFile), metrics); err != nil {
		return errs.Job("cannot write metrics.json", "check the free space of the model folder", err)
	}
	if err := writeJSON(filepath.Join(r.l.OutputDataDir(), "metrics.json"), metrics); err != nil {
		return errs.Job("cannot write output/data/metrics.json", "check the free space of the output folder", err)
	}
	if err := writeJSON(filepath.Join(r.l.OutputDataDir(), "history.json"), map[string]any{"groups": history}); err != nil {
		return errs.Job("cannot write history.json", "check the free space of the output folder", err)
	}
	for _, g := range groups {
		if !p.LossPlots {
			break
		}
		if err := lossPlot(filepath.Join(r.l.OutputDataDir(), "loss_"+g.Name+".png"), g.Name, history[g.Name], res[g.Name].BestEpoch); err != nil {
			r.logf("cannot draw the loss curve of group %s: %v", g.Name, err)
		}
	}
	if p.LossPlots { // the same switch: plots are slow under -race
		names, sc, an := make([]string, len(groups)), make([][]float64, len(groups)), make([][]bool, len(groups))
		for i, g := range groups {
			names[i], sc[i], an[i] = g.Name, per[i].scores, per[i].anom
		}
		r.evalPlots(r.l.OutputDataDir(), names, sc, an)
	}
	if len(sp.test) == 0 {
		r.logf("no test samples: give a test channel or a test_split > 0 to measure the model")
	} else if overall.NAnomalies == 0 {
		r.logf("the test split has no concern/severe samples: ROC AUC and precision/recall cannot be measured")
	}
	for _, k := range finalMetrics {
		switch v := metrics[k].(type) {
		case float64:
			fmt.Fprintln(r.out, progress.Format(progress.Metric{Name: k, Value: v}))
		case int:
			fmt.Fprintln(r.out, progress.Format(progress.Metric{Name: k, Value: float64(v), Int: true}))
		}
	}
	r.logf("done: %d groups, model in %s", len(groups), r.l.ModelDir())
	return nil
}

// lossPlot draws a group's training and validation loss per epoch, marking the best epoch.
func lossPlot(path, group string, h []autoencoder.EpochStats, best int) error {
	pl := plot.New()
	pl.Title.Text = "age group " + group + fmt.Sprintf(" (best epoch %d)", best)
	pl.X.Label.Text = "epoch"
	pl.Y.Label.Text = "MSE loss"
	tr, va := make(plotter.XYs, len(h)), make(plotter.XYs, len(h))
	for i, e := range h {
		tr[i] = plotter.XY{X: float64(e.Epoch), Y: e.TrainLoss}
		va[i] = plotter.XY{X: float64(e.Epoch), Y: e.ValLoss}
	}
	lt, err := plotter.NewLine(tr)
	if err != nil {
		return err
	}
	lt.Color = color.RGBA{B: 200, A: 255}
	lv, err := plotter.NewLine(va)
	if err != nil {
		return err
	}
	lv.Color = color.RGBA{R: 200, A: 255}
	pl.Add(lt, lv, plotter.NewGrid())
	pl.Legend.Add("train", lt)
	pl.Legend.Add("validation", lv)
	if best > 0 && best <= len(h) {
		sc, err := plotter.NewScatter(plotter.XYs{{X: float64(best), Y: h[best-1].ValLoss}})
		if err == nil {
			sc.Color = color.Black
			pl.Add(sc)
			pl.Legend.Add("best", sc)
		}
	}
	return pl.Save(6*vg.Inch, 4*vg.Inch, path)
}
