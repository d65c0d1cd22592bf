package autoencoder

import (
	"fmt"
)

// The matrix products of a training step, on the AVX2/FMA kernels of
// kernels_amd64.s where the CPU has them, else on kernels_generic.go.
//
// Determinism: every output element is computed by one fixed sequence of
// operations that depends only on the shapes and on the element's position,
// never on GOMAXPROCS or on how the work is split between goroutines (the
// blocks a product is cut into depend on its shapes only, one core runs the
// same blocks in turn, and a product is never split over its summed
// dimension). So the same data and seed give the same bytes on one or many cores.

// parallelWork is the number of multiply-adds from which a product is split
// in two: below it, handing half to another core costs more than it saves.
// At 60k the four small middle layers of the default network are split too
// (they were ~8 % of a 2-core step, run on one core while the other spun):
// two alternating A/Bs (bench/trainer/ab.sh) gave the 2-core median +9 % and
// +13 % over 400k, with higher minima and maxima, and the same bytes.
const parallelWork = 60_000

// ownerMid is where the units of a layer of n outputs are cut between the two
// cores. Every pass of a step cuts the same place: the forward product (W's
// rows), dW (its rows), the passes after them, Adam and the gradient's norm.
// So a core updates, reads and writes back the weights it owns, in its own
// cache, and only activations (a batch of rows) cross between cores. A
// multiple of 16 falls on every kernel's tile edge.
func ownerMid(n int) int { return (n/2 + 15) / 16 * 16 }

// splitOwned runs f over [0,n) as the two owners' ranges (see ownerMid), on
// two cores when there are; a small product runs as one range. The ranges
// depend on the shapes only, so one core runs the same two blocks in turn
// and gives the same bytes.
func splitOwned(work, n int, f func(lo, hi int)) {
	if !worthSplitting(work, n) {
		f(0, n)
		return
	}
	mid := ownerMid(n)
	inPair(func() { f(0, mid) }, func() { f(mid, n) }) // one core: the same two blocks in turn
}

// worthSplitting says whether a product of work multiply-adds over n units
// is cut between the cores (splitOwned, runPair).
func worthSplitting(work, n int) bool { return work >= parallelWork && n >= 32 }

// A product is a matrix product ready to run: its blocks f over [0,n), cut
// at ownerMid when its work is worth two cores. Two independent products
// can share one hand-off to the partner (runPair): the backward pass's dW and
// dX of a layer read the same dZ and write different buffers.
type product struct {
	work, n int
	f       func(lo, hi int)
}

func (p product) run() {
	if p.f != nil {
		splitOwned(p.work, p.n, p.f)
	}
}

// runPair runs two independent products: when both are split, each core
// runs its half of one and then its half of the other, one hand-off instead
// of two. The blocks are the ones run alone would use, so the same bytes.
func runPair(a, b product) {
	if !worthSplitting(a.work, a.n) || !worthSplitting(b.work, b.n) {
		a.run()
		b.run()
		return
	}
	ma, mb := ownerMid(a.n), ownerMid(b.n)
	inPair(func() { a.f(0, ma); b.f(0, mb) }, func() { a.f(ma, a.n); b.f(mb, b.n) })
}

func checkLen(what string, have, need int) {
	if have < need {
		panic(fmt.Sprintf("autoencoder: %s has %d values, the product needs %d", what, have, need))
	}
}

// matMulNT adds A·Bᵀ to C: C[i][j] += Σ_p A[i][p]·B[j][p] for C m×n, A m×k,
// B n×k, all row-major with the given strides (the forward pass, Z = b + X·Wᵀ).
// When bias is not nil every row of C is first set to it. epi (may be nil)
// runs after the product on each block of columns [j0,j1), on the same core:
// the passes that follow a product (activation, dropout, loss) split with it.
func matMulNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, bias []float32, epi func(j0, j1 int)) {
	if m == 0 || n == 0 {
		return
	}
	checkLen("C", len(c), (m-1)*ldc+n)
	if k > 0 {
		checkLen("A", len(a), (m-1)*lda+k)
		checkLen("B", len(b), (n-1)*ldb+k)
	}
	if bias != nil {
		checkLen("bias", len(bias), n)
	}
	splitOwned(m*n*k, n, func(j0, j1 int) {
		if bias != nil {
			for i := 0; i < m; i++ {
				copy(c[i*ldc+j0:i*ldc+j1], bias[j0:j1])
			}
		}
		if k > 0 {
			ntBlock(m, j0, j1, k, a, lda, b, ldb, c, ldc)
		}
		if epi != nil {
			epi(j0, j1)
		}
	})
}

func ntBlock(m, j0, j1, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	k8 := k / 8
	if useAsm && useAVX512 {
		k16 := k / 16
		j := j0
		for ; j+3 <= j1; j += 3 {
			i := 0
			for ; i+4 <= m; i += 4 {
				dot4x3z(&a[i*lda], lda, &b[j*ldb], ldb, k16, &c[i*ldc+j], ldc)
			}
			for ; i < m; i++ {
				for jj := j; jj < j+3; jj++ {
					c[i*ldc+jj] += dot1z(&a[i*lda], &b[jj*ldb], k16)
				}
			}
		}
		for ; j < j1; j++ {
			for i := 0; i < m; i++ {
				c[i*ldc+j] += dot1z(&a[i*lda], &b[j*ldb], k16)
			}
		}
		k8 = k16 * 2 // the tail below starts at 16*k16
	} else if useAsm {
		j := j0
		for ; j+3 <= j1; j += 3 {
			i := 0
			for ; i+4 <= m; i += 4 {
				dot4x3(&a[i*lda], lda, &b[j*ldb], ldb, k8, &c[i*ldc+j], ldc)
			}
			for ; i < m; i++ {
				for jj := j; jj < j+3; jj++ {
					c[i*ldc+jj] += dot1(&a[i*lda], &b[jj*ldb], k8)
				}
			}
		}
		for ; j < j1; j++ {
			for i := 0; i < m; i++ {
				c[i*ldc+j] += dot1(&a[i*lda], &b[j*ldb], k8)
			}
		}
	} else {
		for i := 0; i < m; i++ {
			for j := j0; j < j1; j++ {
				c[i*ldc+j] += dotGeneric(a[i*lda:], b[j*ldb:], k8)
			}
		}
	}
	if k8*8 < k { // the last k%8 terms, in order, after the kernel's sum
		for i := 0; i < m; i++ {
			for j := j0; j < j1; j++ {
				s := c[i*ldc+j]
				ar, br := a[i*lda:i*lda+k], b[j*ldb:j*ldb+k]
				for p := k8 * 8; p < k; p++ {
					s += ar[p] * br[p]
				}
				c[i*ldc+j] = s
			}
		}
	}
}

// matMulBcast sets C to A·B (or adds it, when acc): C[i][j] (+)= Σ_p A(i,p)·B[p][j]
// for C m×n and B k×n row-major, where A(i,p) = a[i*sai+p*sap]: A row-major
// is sai=k, sap=1; Aᵀ of a row-major k×m matrix is sai=1, sap=m (the backward
// pass: dX = dZ·W and dW = dZᵀ·X).
// epi is as matMulNT's.
func matMulBcast(m, n, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool, epi func(j0, j1 int)) {
	bcastProduct(m, n, k, a, sai, sap, b, ldb, c, ldc, acc, epi).run()
}

// bcastProduct is matMulBcast, ready to run.
func bcastProduct(m, n, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool, epi func(j0, j1 int)) product {
	if m == 0 || n == 0 {
		return product{}
	}
	checkLen("C", len(c), (m-1)*ldc+n)
	if k == 0 {
		return product{n: 1, f: func(_, _ int) {
			if !acc {
				for i := 0; i < m; i++ {
					clear(c[i*ldc : i*ldc+n])
				}
			}
		}}
	}
	checkLen("A", len(a), (m-1)*sai+(k-1)*sap+1)
	checkLen("B", len(b), (k-1)*ldb+n)
	return product{work: m * n * k, n: n, f: func(j0, j1 int) {
		bcastBlock(m, j0, j1, k, a, sai, sap, b, ldb, c, ldc, acc)
		if epi != nil {
			epi(j0, j1)
		}
	}}
}

// matMulBcastRows is matMulBcast cut between the cores by C's rows instead
// of its columns (dW = dZᵀ·X, whose rows are the layer's units: each core
// writes the gradient of the weights it owns). Row tiles start at 0 in every
// block, as in the whole product, so the bytes are matMulBcast's.
func matMulBcastRows(m, n, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	bcastRowsProduct(m, n, k, a, sai, sap, b, ldb, c, ldc, acc).run()
}

// bcastRowsProduct is matMulBcastRows, ready to run.
func bcastRowsProduct(m, n, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool) product {
	if m == 0 || n == 0 || k == 0 {
		return bcastProduct(m, n, k, a, sai, sap, b, ldb, c, ldc, acc, nil)
	}
	checkLen("C", len(c), (m-1)*ldc+n)
	checkLen("A", len(a), (m-1)*sai+(k-1)*sap+1)
	checkLen("B", len(b), (k-1)*ldb+n)
	return product{work: m * n * k, n: m, f: func(i0, i1 int) {
		bcastBlock(i1-i0, 0, n, k, a[i0*sai:], sai, sap, b, ldb, c[i0*ldc:], ldc, acc)
	}}
}

func bcastBlock(m, j0, j1, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if !useAsm {
		bcastGeneric(0, m, j0, j1, k, a, sai, sap, b, ldb, c, ldc, acc)
		return
	}
	m4 := m / 4 * 4
	j16 := j0 + (j1-j0)/16*16
	j := j0
	if useAsm && useAVX512 {
		for ; j+32 <= j16; j += 32 {
			for i := 0; i < m4; i += 4 {
				bcast4x32(&a[i*sai], sai, sap, &b[j], ldb, k, &c[i*ldc+j], ldc, acc)
			}
		}
	}
	for ; j < j16; j += 16 {
		for i := 0; i < m4; i += 4 {
			bcast4x16(&a[i*sai], sai, sap, &b[j], ldb, k, &c[i*ldc+j], ldc, acc)
		}
	}
	bcastGeneric(m4, m, j0, j16, k, a, sai, sap, b, ldb, c, ldc, acc)
	bcastGeneric(0, m, j16, j1, k, a, sai, sap, b, ldb, c, ldc, acc)
}

// Adam flushes tiny values to zero so that no step meets a subnormal float.
// Without it the first moment of every weight whose gradient stays zero (the
// inputs a drawing never inks, a unit that never fires) decays by beta1 a
// step into the subnormal range, where each multiply costs the CPU a
// microcode assist of a hundred cycles or more: after 20 epochs of the
// default network 40 % of the moments were subnormal and Adam took twice its
// time. The thresholds sit where a step cannot feel them: a gradient below
// 2^-50 or a moment below 2^-96 moves a weight by at most lr·2^-50/eps
// (eps = 1e-8), ten million times less than the step of a full gradient, and
// what is kept leaves every product of the step (beta1·m, (1-beta2)·g², lr·m)
// above the smallest normal float.
// Each constant is the bits of the threshold minus one, for flushBelow's >.
const (
	tinyGrad   = 0x26800000 - 1 // 2^-50: the gradient times the clip factor
	tinyMoment = 0x0f800000 - 1 // 2^-96: m and v
)

// adamUpdate applies adam's step to every parameter: it reads p0, m0, v0
// and writes p, m, v (the same slices for a step in place); k is as adam8's.
func adamUpdate(p, m, v, p0, m0, v0, g []float32, k *[8]float32) {
	n := len(p)
	for _, s := range [][]float32{m, v, p0, m0, v0, g} {
		checkLen("an Adam array", len(s), n)
	}
	done := 0
	if useAsm && n >= 8 {
		adam8(&p[0], &m[0], &v[0], &p0[0], &m0[0], &v0[0], &g[0], n/8, k)
		done = n / 8 * 8
	}
	adamGeneric(p[done:], m[done:], v[done:], p0[done:], m0[done:], v0[done:], g[done:n], k)
}

// sumSquares returns Σ g[i]² in float64, always in the same order: each
// owner's segments (see ownerMid) are summed apart, on two cores when there
// are, and then added; nil segments sum g whole.
func sumSquares(g []float32, own *owners) float64 {
	if own == nil || len(g) < 65536 {
		return sumSquaresPart(g)
	}
	sum := func(segs [][2]int) float64 {
		var s float64
		for _, sg := range segs {
			s += sumSquaresPart(g[sg[0]:sg[1]])
		}
		return s
	}
	var lo, hi float64
	inPair(func() { lo = sum(own[0]) }, func() { hi = sum(own[1]) })
	return lo + hi
}

func sumSquaresPart(g []float32) float64 {
	n := len(g) / 16 * 16
	var s float64
	if useAsm && n > 0 {
		s = sumSquares16(&g[0], n/16)
	} else {
		s = sumSquaresGeneric16(g[:n])
	}
	for _, v := range g[n:] {
		s += float64(v) * float64(v)
	}
	return s
}
