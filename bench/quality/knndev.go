package main

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

// knnDev is the quick loop for descriptor work (-task knn): no training, no
// files. Each class's 2,000 normals and its one-vs-rest test set are described
// in memory, standardised on the normals, and scored by the mean distance to
// the 5 nearest normals over the -blocks (each block weighted
// 1/sqrt(size), as the trainer's ensemble does); then the scan changes of
// the test normals against the originals. Only for classes 0-4.
func knnDev(tr, te split, classes []int, blocks []string) {
	var sum float64
	for _, c := range classes {
		var trPx, tePx [][]byte
		var anom []bool
		for _, i := range tr.ofClass(c, 0, 2000) {
			trPx = append(trPx, tr.img[i])
		}
		for _, i := range te.ofClass(c, 0, 500) {
			tePx = append(tePx, te.img[i])
			anom = append(anom, false)
		}
		var others []int
		for _, o := range classes {
			if o != c {
				others = append(others, o)
			}
		}
		for k, o := range others {
			n := 500 / len(others)
			if k == len(others)-1 {
				n = 500 - n*(len(others)-1)
			}
			for _, i := range te.ofClass(o, 0, n) {
				tePx = append(tePx, te.img[i])
				anom = append(anom, true)
			}
		}
		t0 := time.Now()
		X := describeAll(trPx, original)
		mean, std := fitStd(X)
		w := blockWeights(blocks)
		ref := zs(X, mean, std, w)
		if warps := devWarps(); len(warps) > 0 {
			ref = append(ref, zs(describeWarped(trPx, warps), mean, std, w)...)
		}
		orig := knnMean(ref, zs(describeAll(tePx, original), mean, std, w), 5)
		var on, oa []float64
		for i, s := range orig {
			if anom[i] {
				oa = append(oa, s)
			} else {
				on = append(on, s)
			}
		}
		auc := auc2(oa, on)
		sum += auc
		fmt.Printf("class %d kNN AUROC %.4f (%.1fs)", c, auc, time.Since(t0).Seconds())
		if *flagScan {
			fmt.Printf("  scans:")
			for _, sc := range scans() {
				cn := knnMean(ref, zs(describeAll(tePx[:500], sc), mean, std, w), 5)
				fmt.Printf(" %s %.2f", strings.Fields(sc.Name)[0]+sc.Name[len(sc.Name)-3:], auc2(cn, on))
			}
		}
		fmt.Println()
	}
	fmt.Printf("mean kNN AUROC %.4f\n", sum/float64(len(classes)))
}

func describeAll(px [][]byte, sc scan) [][]float32 {
	out := make([][]float32, len(px))
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(px); i += 2 {
				out[i] = features.Vector(render(px[i], sc), "")[:features.VisualDim]
			}
		}(w)
	}
	wg.Wait()
	return out
}

// devWarps are the -knn-rot / -knn-scale copies added to the reference
// (the trainer's knn_augment_rotations / knn_augment_scales).
func devWarps() []features.Warp {
	var out []features.Warp
	for _, f := range strings.Split(*flagKNNRot, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			out = append(out, features.Warp{Rotate: v, Scale: 1})
		}
	}
	for _, f := range strings.Split(*flagKNNScale, ",") {
		if v, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			out = append(out, features.Warp{Scale: v})
		}
	}
	return out
}

// describeWarped is features.WarpedVectors of every image, as the trainer
// makes its reference copies.
func describeWarped(px [][]byte, warps []features.Warp) [][]float32 {
	out := make([][]float32, len(px)*len(warps))
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(px); i += 2 {
				for j, x := range features.WarpedVectors(render(px[i], original), "", warps) {
					out[i*len(warps)+j] = x[:features.VisualDim]
				}
			}
		}(w)
	}
	wg.Wait()
	return out
}

func fitStd(X [][]float32) (mean, std []float64) {
	d := len(X[0])
	mean, std = make([]float64, d), make([]float64, d)
	for _, x := range X {
		for j, v := range x {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(len(X))
	}
	for _, x := range X {
		for j, v := range x {
			e := float64(v) - mean[j]
			std[j] += e * e
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(len(X)))
	}
	// floor at 0.1 x the block's median deviation, as the robust standardisation does
	off := 0
	for _, b := range features.CurrentSettings().Blocks {
		s := append([]float64(nil), std[off:off+b.Size]...)
		sort.Float64s(s)
		fl := 0.1 * s[len(s)/2]
		for j := off; j < off+b.Size; j++ {
			std[j] = max(std[j], fl, 1e-6)
		}
		off += b.Size
	}
	return mean, std
}

func blockWeights(names []string) []float64 {
	w := make([]float64, features.VisualDim)
	off := 0
	for _, b := range features.CurrentSettings().Blocks {
		for _, n := range names {
			if n == b.Name || n == "all" {
				for j := off; j < off+b.Size; j++ {
					w[j] = 1 / math.Sqrt(float64(b.Size))
				}
			}
		}
		off += b.Size
	}
	return w
}

func zs(X [][]float32, mean, std, w []float64) [][]float64 {
	out := make([][]float64, len(X))
	for i, x := range X {
		z := make([]float64, 0, len(x))
		for j, v := range x {
			if w[j] != 0 {
				z = append(z, max(-5, min(5, (float64(v)-mean[j])/std[j]))*w[j])
			}
		}
		out[i] = z
	}
	return out
}

func knnMean(ref, q [][]float64, k int) []float64 {
	out := make([]float64, len(q))
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			best := make([]float64, 0, k+1)
			for i := w; i < len(q); i += 2 {
				best = best[:0]
				for _, r := range ref {
					var d float64
					for j, v := range q[i] {
						e := v - r[j]
						d += e * e
					}
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
					s += math.Sqrt(d)
				}
				out[i] = s / float64(len(best))
			}
		}(w)
	}
	wg.Wait()
	return out
}
