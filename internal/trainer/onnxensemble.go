package trainer

import (
	"fmt"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// onnxPart is what the ONNX graph needs of one group's scorer, read from
// the groupScorer ScoreVector uses, so that the graph follows the Go code.
type onnxPart struct {
	knn                 *onnxKNNSpec // nil: raw = the autoencoder's error
	aeWeight, knnWeight float64      // raw = aeWeight*ae/aeScale + knnWeight*knn/knnScale
	aeScale, knnScale   float64
}

// onnxKNNSpec is groupScorer's nearest-neighbour part: knnDistances(ref, q, k, false).
type onnxKNNSpec struct {
	ref autoencoder.Matrix // reference rows (as stored: already weighted)
	w   []float32          // weight per feature the query is multiplied by; nil: none
	k   int
	// Format 3's year windows (groupScorer.knnWindow): row y-firstYear of
	// penalty is 0 for the reference rows a drawing of floor(age) y (clamped
	// to the reference's years) is compared with and knnOutside for the
	// others, added to the squared distances before the k smallest are taken.
	// nil: every row.
	penalty   []float64 // years × ref.Rows
	firstYear int
	years     int
}

// knnOutside is added to the squared distance of a reference row outside a
// drawing's year window: larger than any real distance, still finite.
const knnOutside = 1e300

// yearPenalty builds onnxKNNSpec's penalty rows from the scorer's windows.
func yearPenalty(sc *groupScorer, spec *onnxKNNSpec) {
	if sc.yearRefs <= 0 || len(sc.years) == 0 {
		return
	}
	spec.firstYear = sc.years[0].Year
	spec.years = sc.years[len(sc.years)-1].Year - spec.firstYear + 1
	M := sc.ref.Rows
	spec.penalty = make([]float64, spec.years*M)
	for y := 0; y < spec.years; y++ {
		lo, hi := sc.knnWindow(float64(spec.firstYear + y))
		for j := 0; j < M; j++ {
			if j < lo || j >= hi {
				spec.penalty[y*M+j] = knnOutside
			}
		}
	}
}

// onnxScoreParts reads every group's scorer (format 2) or gives the
// autoencoder-only part (format 1).
func onnxScoreParts(m *Model) ([]onnxPart, error) {
	parts := make([]onnxPart, len(m.Manifest.Groups))
	if m.scorers == nil {
		return parts, nil
	}
	if len(m.scorers) != len(parts) {
		return nil, fmt.Errorf("model has %d scorers for %d groups", len(m.scorers), len(parts))
	}
	for i, sc := range m.scorers {
		if sc.method != ScoreEnsemble {
			continue
		}
		// groupScorer.raw (calibrate.go): (1-weight)*ae/aeScale + weight*knn/knnScale, with the kNN over the weighted features.
		spec := &onnxKNNSpec{ref: sc.ref, w: sc.w, k: sc.k}
		yearPenalty(sc, spec)
		parts[i] = onnxPart{knn: spec, aeWeight: 1 - sc.weight, knnWeight: sc.weight,
			aeScale: sc.aeScale, knnScale: sc.knnScale}
	}
	if n := countKNN(parts); n != 0 && n != len(parts) {
		return nil, fmt.Errorf("model mixes score methods across groups (%d of %d groups have a kNN part)", n, len(parts))
	}
	return parts, nil
}

func countKNN(parts []onnxPart) int {
	n := 0
	for _, p := range parts {
		if p.knn != nil {
			n++
		}
	}
	return n
}

// onnxKNN adds knnDistances for one group to the graph and returns its
// output, float64 [N, 1]: per row the mean over the k nearest reference rows
// (of the row's year window, format 3; age is the ages, float64 [N, 1])
// of sqrt(max(|q|² + |r|² - 2 q·r, 0) / D). The Go scorer takes q·r in
// float32; the graph takes it in float64 (|q|² and |r|² are float64 in both),
// so the two differ by the float32 rounding of the Go dot product only.
func onnxKNN(node func(string, []string, string, ...*pb) string, nodeN func(string, []string, []string, ...*pb),
	init func(*pb), pre, z, age string, s *onnxKNNSpec) string {
	ref := s.ref
	M, D := int64(ref.Rows), int64(ref.Cols)
	q := z
	if s.w != nil {
		init(onnxTensor(pre+"knn_feature_weights", onnxFloat, []int64{D}, rawFloat32(s.w)))
		q = node("Mul", []string{z, pre + "knn_feature_weights"}, pre+"knn_query32")
	}
	q = node("Cast", []string{q}, pre+"knn_query", onnxAttrInt("to", onnxDouble))
	refT := make([]float32, len(ref.Data))
	for r := 0; r < ref.Rows; r++ {
		for c := 0; c < ref.Cols; c++ {
			refT[c*ref.Rows+r] = ref.Data[r*ref.Cols+c]
		}
	}
	init(onnxTensor(pre+"knn_reference_t", onnxFloat, []int64{D, M}, rawFloat32(refT)))
	init(onnxTensor(pre+"knn_reference_norms", onnxDouble, []int64{1, M}, rawFloat64(rowNorms(ref))))
	k := min(s.k, ref.Rows)
	init(onnxTensor(pre+"knn_k", onnxInt64, []int64{1}, rawInt64([]int64{int64(k)})))
	init(onnxTensor(pre+"knn_axes", onnxInt64, []int64{1}, rawInt64([]int64{1})))
	init(onnxTensor(pre+"knn_two", onnxDouble, nil, rawFloat64([]float64{2})))
	init(onnxTensor(pre+"knn_zero", onnxDouble, nil, rawFloat64([]float64{0})))
	init(onnxTensor(pre+"knn_features", onnxDouble, nil, rawFloat64([]float64{float64(D)})))
	inv := make([]float64, k)
	for i := range inv {
		inv[i] = 1 / float64(k)
	}
	init(onnxTensor(pre+"knn_mean_weights", onnxDouble, []int64{int64(k), 1}, rawFloat64(inv)))

	qn := node("ReduceSum", []string{node("Mul", []string{q, q}, pre+"knn_query_sq"), pre + "knn_axes"}, pre+"knn_query_norms",
		onnxAttrInt("keepdims", 1))
	dot := node("MatMul", []string{q, node("Cast", []string{pre + "knn_reference_t"}, pre+"knn_reference_t64", onnxAttrInt("to", onnxDouble))}, pre+"knn_dot")
	d := node("Sub", []string{node("Add", []string{qn, pre + "knn_reference_norms"}, pre+"knn_norm_sum"),
		node("Mul", []string{dot, pre + "knn_two"}, pre+"knn_dot2")}, pre+"knn_sqdist")
	if s.penalty != nil {
		init(onnxTensor(pre+"knn_window_penalty", onnxDouble, []int64{int64(s.years), M}, rawFloat64(s.penalty)))
		init(onnxTensor(pre+"knn_first_year", onnxDouble, nil, rawFloat64([]float64{float64(s.firstYear)})))
		init(onnxTensor(pre+"knn_last_year", onnxDouble, nil, rawFloat64([]float64{float64(s.firstYear + s.years - 1)})))
		init(onnxTensor(pre+"knn_flat", onnxInt64, []int64{1}, rawInt64([]int64{-1})))
		y := node("Clip", []string{node("Floor", []string{age}, pre+"knn_year"), pre + "knn_first_year", pre + "knn_last_year"}, pre+"knn_year_clamped")
		yi := node("Cast", []string{node("Sub", []string{y, pre + "knn_first_year"}, pre+"knn_year_offset")}, pre+"knn_year_index64", onnxAttrInt("to", onnxInt64))
		yi = node("Reshape", []string{yi, pre + "knn_flat"}, pre+"knn_year_index")
		pen := node("Gather", []string{pre + "knn_window_penalty", yi}, pre+"knn_penalty", onnxAttrInt("axis", 0))
		d = node("Add", []string{d, pen}, pre+"knn_sqdist_windowed")
	}
	nodeN("TopK", []string{d, pre + "knn_k"}, []string{pre + "knn_nearest", pre + "knn_nearest_index"},
		onnxAttrInt("axis", 1), onnxAttrInt("largest", 0), onnxAttrInt("sorted", 1))
	near := node("Max", []string{pre + "knn_nearest", pre + "knn_zero"}, pre+"knn_nearest_pos")
	rms := node("Sqrt", []string{node("Div", []string{near, pre + "knn_features"}, pre+"knn_nearest_per_feature")}, pre+"knn_nearest_rms")
	return node("MatMul", []string{rms, pre + "knn_mean_weights"}, pre+"knn_distance")
}
