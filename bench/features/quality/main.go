// Command quality checks how well a feature set separates the labelled
// anomalies of a data set with a simple, untuned detector: per age group
// (floor(age) bins merged to >= 50 samples), features standardised on the
// normal training samples, score = reconstruction error of a PCA with the
// components that keep 90% of the variance. It prints the test ROC AUC for
// the Go descriptor and for raw pixels (32x32 grey), side by side.
//
//	go run ./bench/features/quality DIR   # DIR holds training/ and test/
package main

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

func main() {
	dir := os.Args[1]
	ctx := context.Background()
	train, err := features.LoadChannel(ctx, filepath.Join(dir, "training"), features.Options{})
	check(err)
	test, err := features.LoadChannel(ctx, filepath.Join(dir, "test"), features.Options{})
	check(err)
	fmt.Printf("descriptor (%d values): test ROC AUC %.4f\n", train.Dim, evaluate(train.Samples, test.Samples))
	rawTrain := rawPixels(filepath.Join(dir, "training"))
	rawTest := rawPixels(filepath.Join(dir, "test"))
	fmt.Printf("raw pixels 32x32 (%d values): test ROC AUC %.4f\n", len(rawTrain[0].X), evaluate(rawTrain, rawTest))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func rawPixels(dir string) []features.Sample {
	ch, err := data.Scan(dir, "")
	check(err)
	out := make([]features.Sample, len(ch.Items))
	data.ForEach(context.Background(), len(ch.Items), 0, func(i int) {
		it := ch.Items[i]
		img, err := data.DecodeImage(filepath.Join(dir, it.Path))
		check(err)
		out[i] = features.Sample{Name: it.Path, AgeYears: it.AgeYears, Label: it.Label, X: grey32(img)}
	})
	return out
}

func grey32(img image.Image) []float32 {
	b := img.Bounds()
	x := make([]float32, 32*32)
	c := make([]float32, 32*32)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for xx := b.Min.X; xx < b.Max.X; xx++ {
			r, g, bb, _ := img.At(xx, y).RGBA()
			i := ((y-b.Min.Y)*32/b.Dy())*32 + (xx-b.Min.X)*32/b.Dx()
			x[i] += float32(0.299*float64(r)+0.587*float64(g)+0.114*float64(bb)) / 65535
			c[i]++
		}
	}
	for i := range x {
		x[i] /= c[i]
	}
	return x
}

// groups: floor(age) bins merged upward until each has >= 50 training samples.
func groups(train []features.Sample) func(age float64) int {
	count := map[int]int{}
	for _, s := range train {
		count[int(s.AgeYears)]++
	}
	bound := []int{} // group g covers ages up to bound[g] inclusive
	acc := 0
	for a := 2; a <= 18; a++ {
		acc += count[a]
		if acc >= 50 || a == 18 {
			bound = append(bound, a)
			acc = 0
		}
	}
	return func(age float64) int {
		return sort.SearchInts(bound, int(age))
	}
}

func evaluate(train, test []features.Sample) float64 {
	g := groups(train)
	byG := map[int][]features.Sample{}
	for _, s := range train {
		if s.Label == "normal" {
			byG[g(s.AgeYears)] = append(byG[g(s.AgeYears)], s)
		}
	}
	models := map[int]*pcaModel{}
	for k, ss := range byG {
		models[k] = fit(ss)
	}
	var scores []float64
	var labels []bool
	for _, s := range test {
		m := models[g(s.AgeYears)]
		if m == nil {
			continue
		}
		scores = append(scores, m.score(s.X))
		labels = append(labels, s.Label != "normal")
	}
	return auc(scores, labels)
}

type pcaModel struct {
	mean, sd []float64
	basis    *mat.Dense // d x k
}

func fit(ss []features.Sample) *pcaModel {
	d := len(ss[0].X)
	m := &pcaModel{mean: make([]float64, d), sd: make([]float64, d)}
	x := mat.NewDense(len(ss), d, nil)
	for i, s := range ss {
		for j, v := range s.X {
			x.Set(i, j, float64(v))
		}
	}
	for j := 0; j < d; j++ {
		col := mat.Col(nil, j, x)
		m.mean[j], m.sd[j] = stat.MeanStdDev(col, nil)
		if m.sd[j] < 1e-6 {
			m.sd[j] = 1
		}
		for i := range col {
			x.Set(i, j, (col[i]-m.mean[j])/m.sd[j])
		}
	}
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		panic("pca failed")
	}
	vars := pc.VarsTo(nil)
	total, acc, k := 0.0, 0.0, 0
	for _, v := range vars {
		total += v
	}
	for k < len(vars) && acc < 0.9*total {
		acc += vars[k]
		k++
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	m.basis = mat.DenseCopyOf(vecs.Slice(0, d, 0, k))
	return m
}

func (m *pcaModel) score(x []float32) float64 {
	d := len(x)
	z := mat.NewVecDense(d, nil)
	for j, v := range x {
		z.SetVec(j, (float64(v)-m.mean[j])/m.sd[j])
	}
	var p, r mat.VecDense
	p.MulVec(m.basis.T(), z)
	r.MulVec(m.basis, &p)
	r.SubVec(z, &r)
	return mat.Dot(&r, &r) / float64(d)
}

func auc(scores []float64, pos []bool) float64 {
	var np, nn float64
	var sum float64
	for i := range scores {
		if !pos[i] {
			continue
		}
		np++
		for j := range scores {
			if pos[j] {
				continue
			}
			switch {
			case scores[i] > scores[j]:
				sum++
			case scores[i] == scores[j]:
				sum += 0.5
			}
		}
	}
	for _, p := range pos {
		if !p {
			nn++
		}
	}
	return sum / math.Max(np*nn, 1)
}
