package autoencoder

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func randSlice(n int, r *rand.Rand) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// The kernel sets: pure Go, AVX2/FMA, AVX2/FMA with the AVX-512 tiles.
const (
	kernGo = iota
	kernAVX2
	kernAVX512
)

// withKernels runs f on one kernel set, skipping what the CPU lacks.
func withKernels(t *testing.T, set int, f func()) {
	t.Helper()
	if (set == kernAVX2 && !useAsm) || (set == kernAVX512 && !useAVX512) {
		t.Skip("this CPU or build lacks the kernels")
	}
	defer func(a, z bool) { useAsm, useAVX512 = a, z }(useAsm, useAVX512)
	useAsm, useAVX512 = set != kernGo, set == kernAVX512
	f()
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d is %g, want %g", what, i, got[i], want[i])
		}
	}
}

// The shapes cover full tiles, every kind of edge (rows, columns, k%8) and
// the default network's layers.
var kernelShapes = [][3]int{{1, 1, 1}, {4, 3, 8}, {5, 4, 9}, {7, 17, 13}, {32, 256, 832}, {32, 832, 256},
	{3, 33, 64}, {32, 64, 32}, {9, 50, 100}, {32, 16, 16}}

// Both products agree with a float64 reference on the assembly and on the pure
// Go kernels, and with each other up to float32 rounding.
func TestKernelsAgreeWithReferenceAndEachOther(t *testing.T) {
	for _, asm := range []int{kernGo, kernAVX2, kernAVX512} {
		for _, sh := range kernelShapes {
			m, n, k := sh[0], sh[1], sh[2]
			r := rand.New(rand.NewPCG(uint64(m*n), uint64(k)))
			lda, ldb, ldc := k+1, k+3, n+2 // strides wider than the rows
			a, b, c0 := randSlice(m*lda, r), randSlice(n*ldb, r), randSlice(m*ldc, r)
			want := slices.Clone(c0)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					s := float64(c0[i*ldc+j])
					for p := 0; p < k; p++ {
						s += float64(a[i*lda+p]) * float64(b[j*ldb+p])
					}
					want[i*ldc+j] = float32(s)
				}
			}
			got := slices.Clone(c0)
			withKernels(t, asm, func() { matMulNT(m, n, k, a, lda, b, ldb, got, ldc, nil, nil) })
			near(t, "matMulNT", got, want, 1e-4*math.Sqrt(float64(k)))

			// matMulBcast as dW = Aᵀ·B with A k×m (sai=1, sap=m) and as A·B with A m×k.
			bb := randSlice(k*(n+1), r)
			for _, tr := range []bool{false, true} {
				sai, sap := k, 1
				if tr {
					sai, sap = 1, m
				}
				aa := randSlice(m*k, r)
				for _, acc := range []bool{false, true} {
					ref := slices.Clone(c0)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							s := 0.0
							if acc {
								s = float64(c0[i*ldc+j])
							}
							for p := 0; p < k; p++ {
								s += float64(aa[i*sai+p*sap]) * float64(bb[p*(n+1)+j])
							}
							ref[i*ldc+j] = float32(s)
						}
					}
					got := slices.Clone(c0)
					withKernels(t, asm, func() { matMulBcast(m, n, k, aa, sai, sap, bb, n+1, got, ldc, acc, nil) })
					near(t, "matMulBcast", got, ref, 1e-4*math.Sqrt(float64(k)))
				}
			}
		}
	}
}

// The split over two cores never changes a bit of a product.
func TestProductsDoNotDependOnCores(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	m, n, k := 37, 835, 259
	a, b := randSlice(m*k, r), randSlice(n*k, r)
	// dW's form: Aᵀ of a k×m matrix times B, cut by C's rows.
	at := randSlice(k*m*11, r)
	run := func(procs int) ([]float32, []float32, []float32) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		c := make([]float32, m*n)
		matMulNT(m, n, k, a, k, b, k, c, n, nil, nil)
		d := make([]float32, m*n)
		matMulBcast(m, n, k, a, k, 1, b, n, d, n, false, nil)
		e := make([]float32, m*11*n)
		matMulBcastRows(m*11, n, k, at, 1, m*11, b, n, e, n, false)
		return c, d, e
	}
	c1, d1, e1 := run(1)
	c2, d2, e2 := run(2)
	if !slices.Equal(c1, c2) || !slices.Equal(d1, d2) || !slices.Equal(e1, e2) {
		t.Fatal("a product differs between GOMAXPROCS=1 and 2")
	}
	whole := make([]float32, m*11*n)
	matMulBcast(m*11, n, k, at, 1, m*11, b, n, whole, n, false, nil)
	if !slices.Equal(whole, e1) {
		t.Fatal("the product cut by rows differs from the product cut by columns")
	}
}

// Adam's step and the sum of squares are the same bytes on both kernels.
func TestAdamAndSumSquaresKernelsAreExact(t *testing.T) {
	if !useAsm {
		t.Skip("this CPU or build has no assembly kernels (AVX2 and FMA on amd64)")
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 7, 8, 15, 16, 17, 1000, 4099} {
		p, m, g := randSlice(n, r), randSlice(n, r), randSlice(n, r)
		v := randSlice(n, r)
		for i := range v {
			v[i] *= v[i]
		}
		// Every fifth value is near a flush threshold, subnormal or NaN,
		// so the kernels must agree on what is flushed too.
		edge := []float32{0x1p-50, -0x1p-50, math.Nextafter32(0x1p-50, 0), 0x1p-60, math.Nextafter32(0x1p-60, 0),
			0x1p-96, -math.Nextafter32(0x1p-96, 0), 0x1p-130, -0x1p-140, float32(math.NaN())}
		for i := 4; i < n; i += 5 {
			g[i] = edge[i%len(edge)]
			m[i] = edge[(i+3)%len(edge)]
			v[i] = float32(math.Abs(float64(edge[(i+7)%len(edge)])))
		}
		k := &[8]float32{0.7, beta1, 1 - beta1, beta2, 1 - beta2, 0.03, adamE, 1e-3}
		var out [2][3][]float32
		var sums [2]float64
		for ai, asm := range []int{kernGo, kernAVX2} {
			pp, mm, vv := slices.Clone(p), slices.Clone(m), slices.Clone(v)
			withKernels(t, asm, func() {
				adamUpdate(pp, mm, vv, pp, mm, vv, g, k)
				sums[ai] = sumSquares(g, nil)
			})
			out[ai] = [3][]float32{pp, mm, vv}
		}
		for i := range 3 {
			if !equalBits(out[0][i], out[1][i]) {
				t.Fatalf("n=%d: Adam's kernels disagree on array %d", n, i)
			}
		}
		// Out of place (the first step of an epoch) gives the bytes of in place.
		po, mo, vo := make([]float32, n), make([]float32, n), make([]float32, n)
		adamUpdate(po, mo, vo, p, m, v, g, k)
		if !equalBits(po, out[1][0]) || !equalBits(mo, out[1][1]) || !equalBits(vo, out[1][2]) {
			t.Fatalf("n=%d: Adam out of place differs from in place", n)
		}
		for _, a := range out[1][1:] {
			for i, x := range a {
				if x != 0 && math.Abs(float64(x)) < 0x1p-96 {
					t.Fatalf("n=%d: moment %d is %g, below the flush threshold", n, i, x)
				}
			}
		}
		if sums[0] != sums[1] && !(math.IsNaN(sums[0]) && math.IsNaN(sums[1])) {
			t.Fatalf("n=%d: sum of squares %v (Go) vs %v (assembly)", n, sums[0], sums[1])
		}
		var ref float64
		for i, x := range g {
			if i%5 == 4 {
				continue
			}
			ref += float64(x) * float64(x)
		}
		for i := 4; i < n; i += 5 {
			g[i] = 0
		}
		if got := sumSquares(g, nil); math.Abs(got-ref) > 1e-9*ref {
			t.Fatalf("n=%d: sum of squares %v, want %v", n, got, ref)
		}
		if slices.Equal(out[0][0], p) {
			t.Fatalf("n=%d: Adam changed no parameter", n)
		}
	}
}

// equalBits compares float32 slices bit for bit, so NaNs in the same places match.
func equalBits(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// The flush keeps the threshold itself and NaN, and zeroes what is below.
func TestFlushBelow(t *testing.T) {
	for _, c := range []struct {
		x    float32
		t    uint32
		want float32
	}{
		{0x1p-50, tinyGrad, 0x1p-50},
		{-0x1p-50, tinyGrad, -0x1p-50},
		{math.Nextafter32(0x1p-50, 0), tinyGrad, 0},
		{-0x1p-51, tinyGrad, 0},
		{0x1p-96, tinyMoment, 0x1p-96},
		{0x1p-97, tinyMoment, 0},
		{0x1p-140, tinyMoment, 0},
		{1, tinyMoment, 1},
	} {
		if got := flushBelow(c.x, c.t); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("flushBelow(%g, %#x) = %g, want %g", c.x, c.t, got, c.want)
		}
	}
	if got := flushBelow(float32(math.NaN()), tinyGrad); !math.IsNaN(float64(got)) {
		t.Errorf("flushBelow(NaN) = %g, want NaN", got)
	}
}

func BenchmarkMatMulNT832x256(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, w, z := randSlice(32*832, r), randSlice(256*832, r), make([]float32, 32*256)
	for b.Loop() {
		matMulNT(32, 256, 832, x, 832, w, 832, z, 256, nil, nil)
	}
	b.ReportMetric(2*32*256*832*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkMatMulBcastTN256x832(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	dz, x, gw := randSlice(32*256, r), randSlice(32*832, r), make([]float32, 256*832)
	for b.Loop() {
		matMulBcast(256, 832, 32, dz, 1, 256, x, 832, gw, 832, false, nil)
	}
	b.ReportMetric(2*32*256*832*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// The AVX-512 tile gives the bytes of the AVX2 tile it stands for.
func TestAVX512TileIsTheAVX2Bytes(t *testing.T) {
	if !useAVX512 {
		t.Skip("this CPU has no AVX-512")
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, sh := range kernelShapes {
		m, n, k := sh[0], sh[1], sh[2]
		a, b := randSlice(m*k, r), randSlice(k*n, r)
		c0 := randSlice(m*n, r)
		var out [2][]float32
		for vi, wide := range []bool{true, false} {
			func() {
				defer func(old bool) { useAVX512 = old }(useAVX512)
				useAVX512 = wide
				out[vi] = slices.Clone(c0)
				matMulBcast(m, n, k, a, 1, m, b, n, out[vi], n, true, nil)
			}()
		}
		if !slices.Equal(out[0], out[1]) {
			t.Fatalf("shape %v: AVX-512 and AVX2 products differ", sh)
		}
	}
}

func BenchmarkMatMulBcastTN256x832AVX2Only(b *testing.B) {
	defer func(old bool) { useAVX512 = old }(useAVX512)
	useAVX512 = false
	BenchmarkMatMulBcastTN256x832(b)
}

// The two owners' segments cover every parameter once, and each core owns
// close to half of the default network (a core owning nothing would still give
// the same bytes, only at one core's speed: no other test would notice).
func TestOwnersCoverTheParametersInTwoHalves(t *testing.T) {
	for _, hidden := range [][]int{{256, 128, 64, 32}, {64, 16}} {
		n, err := FromParams(832, hidden, 0.1, make([]float32, ParamCount(832, hidden)))
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]int, len(n.Params))
		var share [2]int
		for c, segs := range ownersOf(n) {
			for _, sg := range segs {
				for i := sg[0]; i < sg[1]; i++ {
					seen[i]++
				}
				share[c] += sg[1] - sg[0]
			}
		}
		for i, k := range seen {
			if k != 1 {
				t.Fatalf("hidden %v: parameter %d is owned %d times", hidden, i, k)
			}
		}
		if f := float64(share[0]) / float64(len(n.Params)); f < 0.45 || f > 0.55 {
			t.Errorf("hidden %v: the first core owns %.0f %% of the parameters, want about half", hidden, 100*f)
		}
	}
}
