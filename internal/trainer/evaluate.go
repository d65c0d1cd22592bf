package trainer

import (
	"math"
	"sort"
)

// percentile is NumPy's default (linear interpolation between closest ranks).
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// rocAUC is the area under the ROC curve of scores against positives (the
// Mann-Whitney statistic, ties counted half). NaN when a class is missing.
func rocAUC(scores []float64, pos []bool) float64 {
	idx := sortedIdx(scores)
	var nPos, nNeg float64
	var rankSumPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		rank := float64(i+j+1) / 2 // average 1-based rank of the tie block
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				nPos++
				rankSumPos += rank
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (rankSumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// averagePrecision is scikit-learn's average_precision_score: the sum over
// decreasing score thresholds of (R_n - R_{n-1}) * P_n, ties taken together.
func averagePrecision(scores []float64, pos []bool) float64 {
	idx := sortedIdx(scores)
	var total float64
	for _, p := range pos {
		if p {
			total++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	var tp, fp, prevRecall, ap float64
	for i := len(idx) - 1; i >= 0; {
		j := i
		for j >= 0 && scores[idx[j]] == scores[idx[i]] {
			if pos[idx[j]] {
				tp++
			} else {
				fp++
			}
			j--
		}
		recall := tp / total
		ap += (recall - prevRecall) * tp / (tp + fp)
		prevRecall = recall
		i = j
	}
	return ap
}

func sortedIdx(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	return idx
}

// Evaluation is the quality of a model on one set of samples.
type Evaluation struct {
	N          int      `json:"n"`
	NNormal    int      `json:"n_normal"`
	NAnomalies int      `json:"n_anomalies"`
	ErrorMean  float64  `json:"error_mean"`
	ErrorP95   float64  `json:"error_p95"`
	ErrorP99   float64  `json:"error_p99"`
	AUROC      *float64 `json:"auroc"`             // null without both classes
	AP         *float64 `json:"average_precision"` // null without anomalies
	Precision  *float64 `json:"precision"`         // at the threshold (score > 1); null without anomalies
	Recall     *float64 `json:"recall"`
	F1         *float64 `json:"f1"`
	// FalsePositiveRate is the share of normal samples flagged (score > 1).
	FalsePositiveRate *float64 `json:"false_positive_rate"`
}

// evaluate computes an Evaluation from reconstruction errors, normalised
// scores (error / group threshold: anomalous when > 1) and anomaly labels.
func evaluate(errors, scores []float64, anomaly []bool) Evaluation {
	e := Evaluation{N: len(errors)}
	if e.N == 0 {
		return e
	}
	e.ErrorMean, e.ErrorP95, e.ErrorP99 = mean(errors), percentile(errors, 95), percentile(errors, 99)
	var tp, fp, fn float64
	for i, a := range anomaly {
		flagged := scores[i] > 1
		if a {
			e.NAnomalies++
			if flagged {
				tp++
			} else {
				fn++
			}
		} else {
			e.NNormal++
			if flagged {
				fp++
			}
		}
	}
	if e.NNormal > 0 {
		e.FalsePositiveRate = ptr(fp / float64(e.NNormal))
	}
	if e.NAnomalies == 0 {
		return e
	}
	if e.NNormal > 0 {
		e.AUROC = ptr(rocAUC(scores, anomaly))
	}
	e.AP = ptr(averagePrecision(scores, anomaly))
	prec, rec := 0.0, tp/(tp+fn)
	if tp+fp > 0 {
		prec = tp / (tp + fp)
	}
	f1 := 0.0
	if prec+rec > 0 {
		f1 = 2 * prec * rec / (prec + rec)
	}
	e.Precision, e.Recall, e.F1 = ptr(prec), ptr(rec), ptr(f1)
	return e
}

func ptr(f float64) *float64 { return &f }
