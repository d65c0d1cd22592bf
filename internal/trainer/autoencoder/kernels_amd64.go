//go:build amd64 && !purego

package autoencoder

import "golang.org/x/sys/cpu"

// useAsm says whether the AVX2/FMA kernels of kernels_amd64.s run. The
// choice is made once per process, so one process always gives the same bytes.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 adds bcast4x32, which gives bcast4x16's bytes twice as wide,
// and dot4x3z/dot1z, the sixteen-lane forms of dot4x3/dot1 (their own order).
var useAVX512 = useAsm && cpu.X86.HasAVX512F

//go:noescape
func dot4x3(a *float32, lda int, b *float32, ldb int, k8 int, c *float32, ldc int)

//go:noescape
func dot1(a, b *float32, k8 int) float32

//go:noescape
func bcast4x16(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool)

//go:noescape
func dot4x3z(a *float32, lda int, b *float32, ldb int, k16 int, c *float32, ldc int)

//go:noescape
func dot1z(a, b *float32, k16 int) float32

//go:noescape
func bcast4x32(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool)

//go:noescape
func adam8(p, m, v, p0, m0, v0, grad *float32, n8 int, k *[8]float32)

//go:noescape
func sumSquares16(grad *float32, n16 int) float64
