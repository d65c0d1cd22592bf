//go:build !amd64 || purego

package autoencoder

// Without the assembly kernels (another architecture, or -tags purego)
// everything runs in kernels_generic.go.
var useAsm, useAVX512 = false, false

func dot4x3(a *float32, lda int, b *float32, ldb int, k8 int, c *float32, ldc int) {
	panic("no assembly kernels")
}
func dot1(a, b *float32, k8 int) float32 { panic("no assembly kernels") }
func bcast4x16(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool) {
	panic("no assembly kernels")
}
func dot4x3z(a *float32, lda int, b *float32, ldb int, k16 int, c *float32, ldc int) {
	panic("no assembly kernels")
}
func dot1z(a, b *float32, k16 int) float32 { panic("no assembly kernels") }
func bcast4x32(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool) {
	panic("no assembly kernels")
}
func adam8(p, m, v, p0, m0, v0, grad *float32, n8 int, k *[8]float32) { panic("no assembly kernels") }
func sumSquares16(grad *float32, n16 int) float64                     { panic("no assembly kernels") }
