//go:build amd64 && !purego

#include "textflag.h"

// AVX2/FMA micro-kernels of kernels.go. Each one computes a fixed tile; the
// Go drivers walk the tiles and do the edges. The summation order of every
// output element is fixed by the kernel alone (see kernels_generic.go, which
// mirrors it), never by where the tile sits or how the work was split.

// HSUM leaves in the low lane of X the sum of Y's eight lanes, in the order
// ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)).
#define HSUM(Y, X) VEXTRACTF128 $1, Y, X15; VADDPS X15, X, X; VHADDPS X, X, X; VHADDPS X, X, X

// func dot4x3(a *float32, lda int, b *float32, ldb int, k8 int, c *float32, ldc int)
// C[i][j] += sum over p < 8*k8 of A[i][p]*B[j][p], for i < 4, j < 3. Strides in floats.
TEXT ·dot4x3(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ b+16(FP), BX
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ k8+32(FP), CX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JZ    dot4x3done

dot4x3loop:
	VMOVUPS     (BX), Y12
	VMOVUPS     (BX)(R10*1), Y13
	VMOVUPS     (BX)(R10*2), Y14
	VMOVUPS     (AX), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS     (AX)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS     (AX)(R8*2), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS     (AX)(R9*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ        $32, AX
	ADDQ        $32, BX
	DECQ        CX
	JNZ         dot4x3loop

dot4x3done:
	HSUM(Y0, X0)
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	HSUM(Y1, X1)
	VADDSS 4(DI), X1, X1
	VMOVSS X1, 4(DI)
	HSUM(Y2, X2)
	VADDSS 8(DI), X2, X2
	VMOVSS X2, 8(DI)
	HSUM(Y3, X3)
	VADDSS (DI)(R11*1), X3, X3
	VMOVSS X3, (DI)(R11*1)
	HSUM(Y4, X4)
	VADDSS 4(DI)(R11*1), X4, X4
	VMOVSS X4, 4(DI)(R11*1)
	HSUM(Y5, X5)
	VADDSS 8(DI)(R11*1), X5, X5
	VMOVSS X5, 8(DI)(R11*1)
	HSUM(Y6, X6)
	VADDSS (DI)(R11*2), X6, X6
	VMOVSS X6, (DI)(R11*2)
	HSUM(Y7, X7)
	VADDSS 4(DI)(R11*2), X7, X7
	VMOVSS X7, 4(DI)(R11*2)
	HSUM(Y8, X8)
	VADDSS 8(DI)(R11*2), X8, X8
	VMOVSS X8, 8(DI)(R11*2)
	HSUM(Y9, X9)
	VADDSS (DI)(R12*1), X9, X9
	VMOVSS X9, (DI)(R12*1)
	HSUM(Y10, X10)
	VADDSS 4(DI)(R12*1), X10, X10
	VMOVSS X10, 4(DI)(R12*1)
	HSUM(Y11, X11)
	VADDSS 8(DI)(R12*1), X11, X11
	VMOVSS X11, 8(DI)(R12*1)
	VZEROUPPER
	RET

// func dot1(a, b *float32, k8 int) float32
// The sum over p < 8*k8 of a[p]*b[p], in dot4x3's order.
TEXT ·dot1(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), AX
	MOVQ   b+8(FP), BX
	MOVQ   k8+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JZ     dot1done

dot1loop:
	VMOVUPS     (AX), Y1
	VFMADD231PS (BX), Y1, Y0
	ADDQ        $32, AX
	ADDQ        $32, BX
	DECQ        CX
	JNZ         dot1loop

dot1done:
	HSUM(Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func bcast4x16(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool)
// C[i][j] (+)= sum over p < k of A(i,p)*B[p][j], for i < 4, j < 16, where
// A(i,p) = a[i*sai+p*sap]; the sum runs over p in order, one FMA each.
TEXT ·bcast4x16(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), AX
	MOVQ sai+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ sap+16(FP), R13
	SHLQ $2, R13
	MOVQ b+24(FP), BX
	MOVQ ldb+32(FP), R10
	SHLQ $2, R10
	MOVQ k+40(FP), CX
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVBLZX acc+64(FP), DX
	TESTQ DX, DX
	JZ    bcastzero
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS (DI)(R11*1), Y2
	VMOVUPS 32(DI)(R11*1), Y3
	VMOVUPS (DI)(R11*2), Y4
	VMOVUPS 32(DI)(R11*2), Y5
	VMOVUPS (DI)(R12*1), Y6
	VMOVUPS 32(DI)(R12*1), Y7
	JMP   bcaststart

bcastzero:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

bcaststart:
	TESTQ CX, CX
	JZ    bcaststore

bcastloop:
	VMOVUPS      (BX), Y8
	VMOVUPS      32(BX), Y9
	VBROADCASTSS (AX), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (AX)(R8*1), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS (AX)(R8*2), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS (AX)(R9*1), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         R13, AX
	ADDQ         R10, BX
	DECQ         CX
	JNZ          bcastloop

bcaststore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(R11*1)
	VMOVUPS Y3, 32(DI)(R11*1)
	VMOVUPS Y4, (DI)(R11*2)
	VMOVUPS Y5, 32(DI)(R11*2)
	VMOVUPS Y6, (DI)(R12*1)
	VMOVUPS Y7, 32(DI)(R12*1)
	VZEROUPPER
	RET

// adam8's constants, eight lanes each: the magnitude mask and the flush
// thresholds of kernels.go (tinyGrad, tinyMoment), as bits.
#define SPLAT8(name, v) \
	DATA name<>+0(SB)/4, v; DATA name<>+4(SB)/4, v; DATA name<>+8(SB)/4, v; DATA name<>+12(SB)/4, v; \
	DATA name<>+16(SB)/4, v; DATA name<>+20(SB)/4, v; DATA name<>+24(SB)/4, v; DATA name<>+28(SB)/4, v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

SPLAT8(adamAbs, $0x7fffffff)
SPLAT8(adamTinyGrad, $0x267fffff)
SPLAT8(adamTinyMoment, $0x0f7fffff)

// FLUSH(Y, T, tmp) zeroes the lanes of Y whose magnitude's bits are not
// above T's (flushBelow): an integer compare, so a NaN is kept.
#define FLUSH(Y, T, tmp) VPAND adamAbs<>(SB), Y, tmp; VPCMPGTD T<>(SB), tmp, tmp; VPAND tmp, Y, Y

// func adam8(p, m, v, p0, m0, v0, grad *float32, n8 int, k *[8]float32)
// One Adam step over 8*n8 parameters, exactly as adamGeneric computes it
// (no fused operations, the same flushes): reads p0, m0, v0, writes p, m, v (which may be the
// same arrays). k = f, beta1, 1-beta1, beta2, 1-beta2, sqrt(bc2), eps, step.
TEXT ·adam8(SB), NOSPLIT, $0-72
	MOVQ p+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ p0+24(FP), R8
	MOVQ m0+32(FP), R9
	MOVQ v0+40(FP), R10
	MOVQ grad+48(FP), BX
	MOVQ n8+56(FP), CX
	MOVQ k+64(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	VBROADCASTSS 28(AX), Y15
	TESTQ CX, CX
	JZ    adamdone

adamloop:
	VMULPS  (BX), Y8, Y0
	FLUSH(Y0, adamTinyGrad, Y5)
	VMULPS  (R9), Y9, Y1
	VMULPS  Y0, Y10, Y2
	VADDPS  Y2, Y1, Y1
	FLUSH(Y1, adamTinyMoment, Y2)
	VMOVUPS Y1, (SI)
	VMULPS  (R10), Y11, Y3
	VMULPS  Y0, Y12, Y4
	VMULPS  Y0, Y4, Y4
	VADDPS  Y4, Y3, Y3
	FLUSH(Y3, adamTinyMoment, Y4)
	VMOVUPS Y3, (DX)
	VSQRTPS Y3, Y5
	VDIVPS  Y13, Y5, Y5
	VADDPS  Y14, Y5, Y5
	VMULPS  Y1, Y15, Y6
	VDIVPS  Y5, Y6, Y6
	VMOVUPS (R8), Y7
	VSUBPS  Y6, Y7, Y7
	VMOVUPS Y7, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, BX
	DECQ    CX
	JNZ     adamloop

adamdone:
	VZEROUPPER
	RET

// func sumSquares16(grad *float32, n16 int) float64
// The sum of g[i]² over 16*n16 values in float64, in sumSquaresGeneric's order.
TEXT ·sumSquares16(SB), NOSPLIT, $0-24
	MOVQ   grad+0(FP), AX
	MOVQ   n16+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     sqdone

sqloop:
	VCVTPS2PD   (AX), Y4
	VCVTPS2PD   16(AX), Y5
	VCVTPS2PD   32(AX), Y6
	VCVTPS2PD   48(AX), Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $64, AX
	DECQ        CX
	JNZ         sqloop

sqdone:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD       X0, ret+16(FP)
	VZEROUPPER
	RET

// func bcast4x32(a *float32, sai, sap int, b *float32, ldb int, k int, c *float32, ldc int, acc bool)
// bcast4x16 over 32 columns with AVX-512: every element gets the same FMAs
// in the same order, so the bytes are bcast4x16's.
TEXT ·bcast4x32(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), AX
	MOVQ sai+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ sap+16(FP), R13
	SHLQ $2, R13
	MOVQ b+24(FP), BX
	MOVQ ldb+32(FP), R10
	SHLQ $2, R10
	MOVQ k+40(FP), CX
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVBLZX acc+64(FP), DX
	TESTQ DX, DX
	JZ    b32zero
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS (DI)(R11*1), Z2
	VMOVUPS 64(DI)(R11*1), Z3
	VMOVUPS (DI)(R11*2), Z4
	VMOVUPS 64(DI)(R11*2), Z5
	VMOVUPS (DI)(R12*1), Z6
	VMOVUPS 64(DI)(R12*1), Z7
	JMP   b32start

b32zero:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

b32start:
	TESTQ CX, CX
	JZ    b32store

b32loop:
	VMOVUPS      (BX), Z8
	VMOVUPS      64(BX), Z9
	VBROADCASTSS (AX), Z10
	VFMADD231PS  Z8, Z10, Z0
	VFMADD231PS  Z9, Z10, Z1
	VBROADCASTSS (AX)(R8*1), Z11
	VFMADD231PS  Z8, Z11, Z2
	VFMADD231PS  Z9, Z11, Z3
	VBROADCASTSS (AX)(R8*2), Z12
	VFMADD231PS  Z8, Z12, Z4
	VFMADD231PS  Z9, Z12, Z5
	VBROADCASTSS (AX)(R9*1), Z13
	VFMADD231PS  Z8, Z13, Z6
	VFMADD231PS  Z9, Z13, Z7
	ADDQ         R13, AX
	ADDQ         R10, BX
	DECQ         CX
	JNZ          b32loop

b32store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, (DI)(R11*1)
	VMOVUPS Z3, 64(DI)(R11*1)
	VMOVUPS Z4, (DI)(R11*2)
	VMOVUPS Z5, 64(DI)(R11*2)
	VMOVUPS Z6, (DI)(R12*1)
	VMOVUPS Z7, 64(DI)(R12*1)
	VZEROUPPER
	RET

// HSUMZ folds Z's sixteen lanes into X's low lane: lanes i and i+8 first, then HSUM.
#define HSUMZ(Z, Y, X) VEXTRACTF64X4 $1, Z, Y15; VADDPS Y15, Y, Y; HSUM(Y, X)

// func dot4x3z(a *float32, lda int, b *float32, ldb int, k16 int, c *float32, ldc int)
// dot4x3 with AVX-512: sixteen lanes over p < 16*k16, folded by HSUMZ.
TEXT ·dot4x3z(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ b+16(FP), BX
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10
	MOVQ k16+32(FP), CX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	TESTQ CX, CX
	JZ    dot4x3donez

dot4x3loopz:
	VMOVUPS     (BX), Z12
	VMOVUPS     (BX)(R10*1), Z13
	VMOVUPS     (BX)(R10*2), Z14
	VMOVUPS     (AX), Z15
	VFMADD231PS Z12, Z15, Z0
	VFMADD231PS Z13, Z15, Z1
	VFMADD231PS Z14, Z15, Z2
	VMOVUPS     (AX)(R8*1), Z15
	VFMADD231PS Z12, Z15, Z3
	VFMADD231PS Z13, Z15, Z4
	VFMADD231PS Z14, Z15, Z5
	VMOVUPS     (AX)(R8*2), Z15
	VFMADD231PS Z12, Z15, Z6
	VFMADD231PS Z13, Z15, Z7
	VFMADD231PS Z14, Z15, Z8
	VMOVUPS     (AX)(R9*1), Z15
	VFMADD231PS Z12, Z15, Z9
	VFMADD231PS Z13, Z15, Z10
	VFMADD231PS Z14, Z15, Z11
	ADDQ        $64, AX
	ADDQ        $64, BX
	DECQ        CX
	JNZ         dot4x3loopz

dot4x3donez:
	HSUMZ(Z0, Y0, X0)
	VADDSS (DI), X0, X0
	VMOVSS X0, (DI)
	HSUMZ(Z1, Y1, X1)
	VADDSS 4(DI), X1, X1
	VMOVSS X1, 4(DI)
	HSUMZ(Z2, Y2, X2)
	VADDSS 8(DI), X2, X2
	VMOVSS X2, 8(DI)
	HSUMZ(Z3, Y3, X3)
	VADDSS (DI)(R11*1), X3, X3
	VMOVSS X3, (DI)(R11*1)
	HSUMZ(Z4, Y4, X4)
	VADDSS 4(DI)(R11*1), X4, X4
	VMOVSS X4, 4(DI)(R11*1)
	HSUMZ(Z5, Y5, X5)
	VADDSS 8(DI)(R11*1), X5, X5
	VMOVSS X5, 8(DI)(R11*1)
	HSUMZ(Z6, Y6, X6)
	VADDSS (DI)(R11*2), X6, X6
	VMOVSS X6, (DI)(R11*2)
	HSUMZ(Z7, Y7, X7)
	VADDSS 4(DI)(R11*2), X7, X7
	VMOVSS X7, 4(DI)(R11*2)
	HSUMZ(Z8, Y8, X8)
	VADDSS 8(DI)(R11*2), X8, X8
	VMOVSS X8, 8(DI)(R11*2)
	HSUMZ(Z9, Y9, X9)
	VADDSS (DI)(R12*1), X9, X9
	VMOVSS X9, (DI)(R12*1)
	HSUMZ(Z10, Y10, X10)
	VADDSS 4(DI)(R12*1), X10, X10
	VMOVSS X10, 4(DI)(R12*1)
	HSUMZ(Z11, Y11, X11)
	VADDSS 8(DI)(R12*1), X11, X11
	VMOVSS X11, 8(DI)(R12*1)
	VZEROUPPER
	RET

// func dot1z(a, b *float32, k16 int) float32
// The sum over p < 16*k16 of a[p]*b[p], in dot4x3z's order.
TEXT ·dot1z(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), AX
	MOVQ   b+8(FP), BX
	MOVQ   k16+16(FP), CX
	VPXORD Z0, Z0, Z0
	TESTQ  CX, CX
	JZ     dot1donez

dot1loopz:
	VMOVUPS     (AX), Z1
	VFMADD231PS (BX), Z1, Z0
	ADDQ        $64, AX
	ADDQ        $64, BX
	DECQ        CX
	JNZ         dot1loopz

dot1donez:
	HSUMZ(Z0, Y0, X0)
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

