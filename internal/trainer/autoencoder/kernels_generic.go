package autoencoder

import "math"

// Pure Go versions of the kernels. They are what runs without AVX2/FMA, and
// the reference that kernels_test.go holds the assembly to. Each mirrors its
// kernel's order of operations; the products differ from the assembly only
// in that the kernels fuse multiply and add (one rounding instead of two).

// dotGeneric is dot1: eight lane sums over p < 8*k8, then dot4x3's HSUM.
func dotGeneric(a, b []float32, k8 int) float32 {
	var s [8]float32
	a, b = a[:k8*8], b[:k8*8]
	for p := 0; p < len(a); p += 8 {
		for l := 0; l < 8; l++ {
			s[l] += a[p+l] * b[p+l]
		}
	}
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

// bcastGeneric is bcast4x16 over rows [i0,i1) and columns [j0,j1).
func bcastGeneric(i0, i1, j0, j1, k int, a []float32, sai, sap int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if j0 >= j1 {
		return
	}
	for i := i0; i < i1; i++ {
		cr := c[i*ldc+j0 : i*ldc+j1]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			aip := a[i*sai+p*sap]
			br := b[p*ldb+j0 : p*ldb+j1]
			for j := range cr {
				cr[j] += aip * br[j]
			}
		}
	}
}

// adamGeneric is adam8. The explicit conversions keep the compiler from
// fusing a multiply and an add, so that it gives adam8's bytes exactly.
func adamGeneric(p, m, v, p0, m0, v0, g []float32, k *[8]float32) {
	f, b1, c1, b2, c2, sq, eps, step := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]
	for i := range p {
		gi := flushBelow(g[i]*f, tinyGrad)
		mi := flushBelow(float32(b1*m0[i])+float32(c1*gi), tinyMoment)
		vi := flushBelow(float32(b2*v0[i])+float32(float32(c2*gi)*gi), tinyMoment)
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/sq + eps
		p[i] = p0[i] - float32(step*mi)/denom
	}
}

// flushBelow is x, or +0 when |x| is below the float32 whose bits are t+1
// (see tinyGrad): an integer compare of the magnitude's bits, as adam8's
// VPCMPGTD, so a NaN (whose bits are above every threshold) is kept.
func flushBelow(x float32, t uint32) float32 {
	if math.Float32bits(x)&0x7fffffff > t {
		return x
	}
	return 0
}

// sumSquaresGeneric16 is sumSquares16 over len(g) (a multiple of 16) values:
// sixteen float64 lane sums, folded in the kernel's order. A float32 squared
// is exact in float64, so fusing the add changes nothing.
func sumSquaresGeneric16(g []float32) float64 {
	var s [16]float64
	for i := 0; i+16 <= len(g); i += 16 {
		for l := 0; l < 16; l++ {
			x := float64(g[i+l])
			s[l] += x * x
		}
	}
	var v [4]float64
	for l := 0; l < 4; l++ {
		v[l] = (s[l] + s[l+4]) + (s[l+8] + s[l+12])
	}
	return (v[0] + v[2]) + (v[1] + v[3])
}
