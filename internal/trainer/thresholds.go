package trainer

import (
	"fmt"
	"math"
	"sync"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// newScorers builds each group's scorer: its network, and for the ensemble
// its standardised training normals (ordered by year of age, ages[i] are
// gtrain[i]'s) and the two scales (medians on the training normals; the kNN
// one leave-one-out within each row's own reference window, so it is not zero).
func newScorers(p Params, nets []*autoencoder.Net, gtrain []autoencoder.Matrix, ages [][]float64, w []float32) []*groupScorer {
	sc := make([]*groupScorer, len(nets))
	for i, net := range nets {
		g := &groupScorer{net: net, method: p.ScoreMethod, k: p.KNNNeighbours, weight: p.KNNWeight}
		g.aeScale = positive(median(net.Errors(gtrain[i].Data, gtrain[i].Rows)))
		g.knnScale = 1
		if g.method == ScoreEnsemble {
			g.ref, g.w = weighted(gtrain[i], w), w
			if p.KNNYearRefs > 0 {
				g.ref, g.years = refYears(g.ref, ages[i])
				g.yearRefs = p.KNNYearRefs
			}
			g.knnScale = positive(median(g.looDistances()))
		}
		sc[i] = g
	}
	return sc
}

// addReference adds rows (ages: theirs) to an ensemble scorer's kNN
// reference: the knn_augment copies of the training normals. The kNN scale
// stays the one of the originals (newScorers): leave-one-out on a reference
// holding a row's own copies would measure the copies, not the spread of
// the drawings. An embeddings set or the autoencoder method has no copies.
func (g *groupScorer) addReference(rows autoencoder.Matrix, ages []float64) {
	if g.method != ScoreEnsemble || rows.Rows == 0 || g.ref.Rows == 0 {
		return
	}
	// every original has the same number of copies; windows count drawings
	g.copies = rows.Rows / g.ref.Rows
	g.yearRefs *= 1 + g.copies
	all := autoencoder.Matrix{Rows: g.ref.Rows + rows.Rows, Cols: g.ref.Cols,
		Data: append(append(make([]float32, 0, len(g.ref.Data)+len(rows.Data)), g.ref.Data...), weighted(rows, g.w).Data...)}
	if g.years == nil {
		g.ref, g.packOnce = all, sync.Once{}
		return
	}
	old := make([]float64, 0, all.Rows)
	for _, ry := range g.years {
		for j := 0; j < ry.Rows; j++ {
			old = append(old, float64(ry.Year))
		}
	}
	g.ref, g.years = refYears(all, append(old, ages...))
	g.packOnce = sync.Once{} // packed was built on the originals
}

func positive(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return math.SmallestNonzeroFloat32
	}
	return v
}

// calibrateThresholds sets every group's threshold from scores of normals
// the group was not fitted on (its validation normals), with the split-
// conformal rank, so that a new normal drawing exceeds it with probability
// at most alpha. A group with fewer than p.MinCalibration validation normals
// borrows strength: it takes the threshold of every group's validation
// normals pooled (the raw scores are already divided by the group's own
// scales). Where even the pool is too small there is no honest threshold:
// Threshold is +Inf in memory (null in JSON) and the verdict "undetermined".
func calibrateThresholds(p Params, scorers []*groupScorer, gval []autoencoder.Matrix, valAges [][]float64, mgs []ModelGroup) {
	alpha := 1 - p.ThresholdPercentile/100
	own := make([][]float64, len(scorers))
	var pool []float64
	for i, g := range scorers {
		if gval[i].Rows > 0 {
			_, _, own[i] = g.raw(gval[i].Data, valAges[i], gval[i].Rows)
			pool = append(pool, own[i]...)
		}
	}
	pt, pc, pok := conformalThreshold(pool, alpha)
	pc.Method = ThresholdConformalPooled
	for i := range mgs {
		mg := &mgs[i]
		t, c, ok := conformalThreshold(own[i], alpha)
		c.Method = ThresholdConformalGroup
		if !ok || len(own[i]) < p.MinCalibration {
			t, c, ok = pt, pc, pok
			c.Note = fmt.Sprintf("%d validation normals in the group (< min_calibration %d): threshold of all groups' %d validation normals", len(own[i]), p.MinCalibration, len(pool))
		}
		c.NGroupNormal = len(own[i])
		if !ok {
			c.Method = ThresholdNone
			c.Note = fmt.Sprintf("too small for an honest threshold: %d validation normals in all, a %.3g%% false-positive promise needs at least %d", len(pool), 100*alpha, minCalibration(alpha))
			t = 0
		}
		mg.Threshold, mg.ThresholdSource, mg.Calibration = t, c.Method, c
		mg.AEScale, mg.KNNScale = scorers[i].aeScale, scorers[i].knnScale
		mg.ReferenceYears = scorers[i].years
	}
}

func scoreDefinition(p Params) string {
	if p.ScoreMethod == ScoreEnsemble {
		ref := "of the group"
		if p.KNNYearRefs > 0 {
			ref = fmt.Sprintf("of the group of the drawing's year of age (widened a year each way until at least %d)", max(p.KNNYearRefs, p.KNNNeighbours+1))
		}
		return fmt.Sprintf("raw = %g * reconstruction error / ae_scale + %g * mean distance to the %d nearest training normals %s / knn_scale; score = raw / group threshold; above 1 is anomalous", 1-p.KNNWeight, p.KNNWeight, p.KNNNeighbours, ref)
	}
	return "raw = reconstruction error / ae_scale; score = raw / group threshold; above 1 is anomalous"
}
