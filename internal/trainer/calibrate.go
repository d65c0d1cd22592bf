package trainer

import (
	"math"
	"sort"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// Score methods (hyperparameter "score_method", recorded in model.json).
const (
	// ScoreEnsemble: the weighted mean (knn_weight) of the autoencoder's
	// error and the distance to the k nearest training normals of the group,
	// each divided by its group's median on the training normals (kNN: leave-one-out).
	ScoreEnsemble = "ensemble"
	// ScoreAutoencoder: the reconstruction error alone (format 1's score).
	ScoreAutoencoder = "autoencoder"
)

// Threshold methods (ModelGroup.ThresholdSource).
const (
	ThresholdConformalGroup  = "conformal-group"  // the group's own validation normals
	ThresholdConformalPooled = "conformal-pooled" // validation normals of every group, on the group-scaled score
	ThresholdNone            = "none"             // too few normals for an honest threshold
	ThresholdLegacy          = "validation"       // (format 1 also wrote "training")
)

// groupScorer scores standardised rows for one age group. Training and
// Model.ScoreVector use the same one, so their scores are identical.
type groupScorer struct {
	net      *autoencoder.Net
	method   string
	ref      autoencoder.Matrix // standardised training normals times w (ensemble only), ordered by year of age
	w        []float32          // kNN weight per feature (knnWeights); nil: all 1
	k        int
	weight   float64 // of the kNN part; 1 - weight of the autoencoder's
	aeScale  float64
	knnScale float64
	// years splits ref into runs of one year of age (ascending); with
	// yearRefs > 0 a drawing's kNN reference is the run of its own year,
	// widened a year each way until it holds yearRefs rows (knnWindow).
	// nil or yearRefs 0: the whole group (format 2).
	years    []RefYear
	yearRefs int // in rows: the hyperparameter times 1+copies
	copies   int // warped copies of each original in ref (addReference)
	// packed is ref without the columns w zeroes (0 in every row and
	// query): the same distances for a third less work. Built on first use.
	packOnce sync.Once
	packed   autoencoder.Matrix
	cols     []int // ref's columns packed holds; nil: all
}

// packedRef returns ref restricted to the columns of nonzero weight.
func (g *groupScorer) packedRef() autoencoder.Matrix {
	g.packOnce.Do(func() {
		g.packed, g.cols = g.ref, nil
		if g.w == nil {
			return
		}
		for j, v := range g.w {
			if v != 0 {
				g.cols = append(g.cols, j)
			}
		}
		if len(g.cols) == len(g.w) {
			g.cols = nil
			return
		}
		g.packed = autoencoder.Matrix{Rows: g.ref.Rows, Cols: len(g.cols), Data: make([]float32, 0, g.ref.Rows*len(g.cols))}
		for r := 0; r < g.ref.Rows; r++ {
			row := g.ref.Row(r)
			for _, j := range g.cols {
				g.packed.Data = append(g.packed.Data, row[j])
			}
		}
	})
	return g.packed
}

func (g *groupScorer) packedRows(lo, hi int) autoencoder.Matrix {
	p := g.packedRef()
	c := p.Cols
	return autoencoder.Matrix{Rows: hi - lo, Cols: c, Data: p.Data[lo*c : hi*c]}
}

// RefYear is one year of age of a group's kNN reference rows: Rows rows
// from row Start of the group's reference, all with floor(age) == Year.
type RefYear struct {
	Year  int `json:"year"`
	Start int `json:"start"`
	Rows  int `json:"rows"`
}

// refYears orders the rows of m by floor(age) (stable) and returns the
// reordered matrix and its runs of one year.
func refYears(m autoencoder.Matrix, ages []float64) (autoencoder.Matrix, []RefYear) {
	idx := make([]int, m.Rows)
	for i := range idx {
		idx[i] = i
	}
	yr := func(i int) int { return int(math.Floor(ages[i])) }
	sort.SliceStable(idx, func(a, b int) bool { return yr(idx[a]) < yr(idx[b]) })
	out := autoencoder.Matrix{Rows: m.Rows, Cols: m.Cols, Data: make([]float32, 0, len(m.Data))}
	var ys []RefYear
	for r, i := range idx {
		out.Data = append(out.Data, m.Row(i)...)
		if y := yr(i); len(ys) == 0 || ys[len(ys)-1].Year != y {
			ys = append(ys, RefYear{Year: y, Start: r})
		}
		ys[len(ys)-1].Rows++
	}
	return out, ys
}

// knnWindow returns the reference rows [lo, hi) a drawing of ageYears is
// compared with: the rows of its year of age (clamped to the years the
// reference holds), widened by one year on each side at a time until they
// number at least max(yearRefs, k+1) or cover the whole reference. Without
// years (or yearRefs 0) it is the whole reference.
func (g *groupScorer) knnWindow(ageYears float64) (lo, hi int) {
	if g.yearRefs <= 0 || len(g.years) == 0 {
		return 0, g.ref.Rows
	}
	y := int(math.Floor(ageYears))
	y = max(g.years[0].Year, min(g.years[len(g.years)-1].Year, y))
	need := max(g.yearRefs, g.k+1)
	for d := 0; ; d++ {
		a, b := -1, -1
		for i, ry := range g.years {
			if ry.Year >= y-d && ry.Year <= y+d {
				if a < 0 {
					a = i
				}
				b = i
			}
		}
		if a >= 0 {
			lo, hi = g.years[a].Start, g.years[b].Start+g.years[b].Rows
			if hi-lo >= need || (a == 0 && b == len(g.years)-1) {
				return lo, hi
			}
		}
	}
}

func (g *groupScorer) refRows(lo, hi int) autoencoder.Matrix {
	c := g.ref.Cols
	return autoencoder.Matrix{Rows: hi - lo, Cols: c, Data: g.ref.Data[lo*c : hi*c]}
}

// raw returns each row's autoencoder error, kNN distance (NaN for the
// autoencoder method) and combined raw score; ages[i] is row i's age in
// years (it chooses the kNN reference rows, knnWindow).
func (g *groupScorer) raw(x []float32, ages []float64, rows int) (ae, knn, raw []float64) {
	ae = g.net.Errors(x, rows)
	knn = make([]float64, rows)
	raw = make([]float64, rows)
	if g.method != ScoreEnsemble {
		for i := range knn {
			knn[i], raw[i] = math.NaN(), ae[i]
		}
		return
	}
	c := g.ref.Cols
	g.packedRef()
	pc := len(g.cols)
	if g.cols == nil {
		pc = c
	}
	// Rows sharing a reference window are scored together.
	type window struct{ lo, hi int }
	var order []window
	members := map[window][]int{}
	for i := 0; i < rows; i++ {
		lo, hi := g.knnWindow(ages[i])
		wd := window{lo, hi}
		if _, ok := members[wd]; !ok {
			order = append(order, wd)
		}
		members[wd] = append(members[wd], i)
	}
	for _, wd := range order {
		idx := members[wd]
		q := make([]float32, 0, len(idx)*pc)
		for _, i := range idx {
			row := x[i*c : (i+1)*c]
			switch {
			case g.w == nil:
				q = append(q, row...)
			case g.cols == nil:
				for j, v := range row {
					q = append(q, v*g.w[j])
				}
			default:
				for _, j := range g.cols {
					q = append(q, row[j]*g.w[j])
				}
			}
		}
		d := knnDistancesDim(g.packedRows(wd.lo, wd.hi), autoencoder.Matrix{Rows: len(idx), Cols: pc, Data: q}, g.k, -1, c)
		for j, i := range idx {
			knn[i] = d[j]
		}
	}
	for i := range raw {
		raw[i] = (1-g.weight)*ae[i]/g.aeScale + g.weight*knn[i]/g.knnScale
	}
	return
}

// looDistances is every reference row's kNN distance to the reference rows
// of its own window, itself left out (the kNN scale is their median).
func (g *groupScorer) looDistances() []float64 {
	c := g.ref.Cols
	if g.yearRefs <= 0 || len(g.years) == 0 {
		return knnDistancesDim(g.packedRef(), g.packedRef(), g.k, 0, c)
	}
	out := make([]float64, 0, g.ref.Rows)
	for _, ry := range g.years {
		lo, hi := g.knnWindow(float64(ry.Year))
		q := g.packedRows(ry.Start, ry.Start+ry.Rows)
		out = append(out, knnDistancesDim(g.packedRows(lo, hi), q, g.k, ry.Start-lo, c)...)
	}
	return out
}

// knnDistances returns, for every query row, the mean over its k nearest
// reference rows of the root-mean-square difference per feature. With self
// >= 0 (leave-one-out) query row r is reference row self+r, which is skipped.
func knnDistances(ref, q autoencoder.Matrix, k int, self int) []float64 {
	return knnDistancesDim(ref, q, k, self, q.Cols)
}

// knnDistancesDim is knnDistances on rows that hold dim features of which
// only ref.Cols (the packed ones) can be nonzero.
func knnDistancesDim(ref, q autoencoder.Matrix, k int, self int, dim int) []float64 {
	out := make([]float64, q.Rows)
	leaveOneOut := self >= 0
	if ref.Rows == 0 {
		return out
	}
	k = min(k, ref.Rows-b2i(leaveOneOut))
	rn := rowNorms(ref)
	qn := rowNorms(q)
	const chunk = 128
	g := make([]float32, chunk*ref.Rows)
	best := make([]float64, 0, k+1)
	for q0 := 0; q0 < q.Rows; q0 += chunk {
		m := min(chunk, q.Rows-q0)
		// The training step's kernels (AVX, both cores): gonum's pure-Go
		// Gemm took most of the time after training on a 10,000-row reference.
		autoencoder.MulNT(autoencoder.Matrix{Rows: m, Cols: q.Cols, Data: q.Data[q0*q.Cols : (q0+m)*q.Cols]}, ref, g[:m*ref.Rows])
		for r := 0; r < m; r++ {
			best = best[:0]
			row := g[r*ref.Rows : (r+1)*ref.Rows]
			for j, dot := range row {
				if leaveOneOut && j == self+q0+r {
					continue
				}
				d := math.Max(qn[q0+r]+rn[j]-2*float64(dot), 0)
				if len(best) < k {
					best = append(best, d)
					sort.Float64s(best)
				} else if d < best[k-1] {
					best[k-1] = d
					sort.Float64s(best)
				}
			}
			var s float64
			for _, d := range best {
				s += math.Sqrt(d / float64(dim))
			}
			out[q0+r] = s / float64(len(best))
		}
	}
	return out
}

// knnShapeBlocks are the descriptor blocks the ensemble's distance uses:
// the ink grids (norm and shape planes, 3x3 to 8x8) and the HOG blocks. Chosen on
// the dev classes of bench/quality (Fashion-MNIST 0, 2, 4): 5-NN AUROC 0.925
// on these against 0.903 on the whole standardised descriptor (v1; v2 replaced
// the frame blocks with the ink-centred norm blocks), whose stroke,
// component, run, texture and colour statistics add noise to a distance.
var knnShapeBlocks = []string{"norm_ink_grid_3x3", "norm_ink_grid_4x4", "norm_ink_grid_8x8",
	"shape_ink_grid_3x3", "shape_ink_grid_4x4", "shape_ink_grid_8x8",
	"shape_hog_1x1", "shape_hog_2x2", "shape_hog_4x4", "norm_hog_1x1", "norm_hog_2x2", "norm_hog_4x4"}

// knnWeights gives each feature of the named blocks the weight
// 1/sqrt(block size), so that every block counts the same in the distance,
// and every other feature 0. Without named blocks (embeddings) it is nil: all 1.
func knnWeights(n Normalization, names []string) []float32 {
	if len(names) == 0 {
		return nil
	}
	w := make([]float32, len(n.Mean))
	for _, b := range n.Blocks {
		for _, name := range names {
			if b.Name == name {
				for j := b.Start; j < b.Start+b.Size; j++ {
					w[j] = float32(1 / math.Sqrt(float64(b.Size)))
				}
			}
		}
	}
	return w
}

// knnBlocksFor returns the blocks the distance uses for this standardisation:
// the shape blocks when the descriptor has them, none (all features) otherwise.
func knnBlocksFor(n Normalization) []string {
	var out []string
	for _, name := range knnShapeBlocks {
		for _, b := range n.Blocks {
			if b.Name == name {
				out = append(out, name)
			}
		}
	}
	return out
}

func weighted(m autoencoder.Matrix, w []float32) autoencoder.Matrix {
	if w == nil {
		return m
	}
	out := autoencoder.Matrix{Rows: m.Rows, Cols: m.Cols, Data: make([]float32, len(m.Data))}
	for i, v := range m.Data {
		out.Data[i] = v * w[i%m.Cols]
	}
	return out
}

func rowNorms(m autoencoder.Matrix) []float64 {
	n := make([]float64, m.Rows)
	for i := range n {
		var s float64
		for _, v := range m.Row(i) {
			s += float64(v) * float64(v)
		}
		n[i] = s
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func median(v []float64) float64 { return percentile(v, 50) }

// Calibration says how a group's threshold was made and what it promises.
type Calibration struct {
	Method string  `json:"method"` // ThresholdConformal*, ThresholdNone
	Alpha  float64 `json:"alpha"`  // target false-positive rate, 1 - threshold_percentile/100
	// NCalibration normals (not fitted) the threshold was taken from: the
	// group's own validation normals, or every group's when pooled.
	NCalibration int `json:"n_calibration"`
	NGroupNormal int `json:"n_group_calibration"` // the group's own validation normals
	Rank         int `json:"rank"`                // the threshold is the Rank-th smallest calibration score
	// ExpectedFPR is the false-positive rate on new normals this threshold
	// has on average, (n+1-rank)/(n+1); FPRInterval its 90 % range: the
	// rate is Beta(n+1-rank, rank) distributed over calibration draws.
	ExpectedFPR float64    `json:"expected_fpr"`
	FPRInterval [2]float64 `json:"expected_fpr_interval_90"`
	Note        string     `json:"note,omitempty"`
}

// conformalRank is the split-conformal rank ceil((n+1)(1-alpha)) of n
// calibration scores; above n no threshold keeps the promise.
func conformalRank(n int, alpha float64) int {
	return int(math.Ceil(float64(n+1)*(1-alpha) - 1e-9))
}

// conformalThreshold returns the threshold and its calibration from
// calibration scores cal (not fitted on); ok false when there are too few.
func conformalThreshold(cal []float64, alpha float64) (float64, Calibration, bool) {
	n := len(cal)
	c := Calibration{Alpha: alpha, NCalibration: n}
	k := conformalRank(n, alpha)
	if n == 0 || k > n {
		return math.Inf(1), c, false
	}
	s := append([]float64(nil), cal...)
	sort.Float64s(s)
	c.Rank = k
	a, b := float64(n+1-k), float64(k)
	c.ExpectedFPR = a / (a + b)
	d := distuv.Beta{Alpha: a, Beta: b}
	c.FPRInterval = [2]float64{d.Quantile(0.05), d.Quantile(0.95)}
	return s[k-1], c, true
}

// minCalibration is the fewest calibration normals for an honest threshold
// at alpha: the conformal rank must not exceed the count.
func minCalibration(alpha float64) int {
	n := 1
	for conformalRank(n, alpha) > n {
		n++
	}
	return n
}
