package main

import (
	"context"
	"encoding/csv"
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
	kinds := anomalyKinds(filepath.Join(dir, "test"))
	rawTrain := rawPixels(filepath.Join(dir, "training"))
	rawTest := rawPixels(filepath.Join(dir, "test"))
	for _, c := range []struct {
		name        string
		train, test []features.Sample
	}{
		{fmt.Sprintf("descriptor (%d values)", train.Dim), train.Samples, test.Samples},
		{fmt.Sprintf("raw pixels 32x32 (%d values)", len(rawTrain[0].X)), rawTrain, rawTest},
	} {
		scores := evaluate(c.train, c.test)
		fmt.Printf("%-30s test ROC AUC %.4f", c.name, aucOf(c.test, scores, nil))
		for _, k := range []string{"missing_parts", "broken_parts", "scribble", "fragmented"} {
			fmt.Printf("  %s %.3f", k, aucOf(c.test, scores, func(s features.Sample) bool { return kinds[s.Name] == k }))
		}
		fmt.Println()
	}
}

// anomalyKinds reads sample-data's "anomaly" column, when there is one.
func anomalyKinds(dir string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		return out
	}
	defer f.Close()
	recs, _ := csv.NewReader(f).ReadAll()
	for _, r := range recs[1:] {
		if len(r) > 5 {
			out["images/"+r[0]] = r[5]
		}
	}
	return out
}

// aucOf: normal samples against the anomalies that keep(s) selects (all when nil).
func aucOf(test []features.Sample, scores []float64, keep func(features.Sample) bool) float64 {
	var sc []float64
	var pos []bool
	for i, s := range test {
		if math.IsNaN(scores[i]) {
			continue
		}
		anom := s.Label != "normal"
		if anom && keep != nil && !keep(s) {
			continue
		}
		sc = append(sc, scores[i])
		pos = append(pos, anom)
	}
	return auc(sc, pos)
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

// evaluate returns a score per test sample (NaN when its age has no group).
func evaluate(train, test []features.Sample) []float64 {
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
	scores := make([]float64, len(test))
	for i, s := range test {
		scores[i] = math.NaN()
		if m := models[g(s.AgeYears)]; m != nil {
			scores[i] = m.score(s.X)
		}
	}
	return scores
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
