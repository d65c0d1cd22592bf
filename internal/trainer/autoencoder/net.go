package autoencoder

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Layer is one Linear layer: W is Out×In row-major (PyTorch's layout), B has Out values.
// Both are views into the network's flat parameter slice.
type Layer struct {
	In, Out int
	W, B    []float32
}

// Net is the autoencoder. Params holds every weight and bias in one flat slice
// (layer by layer, W then B), which is also the order of the weights file.
type Net struct {
	Input   int
	Hidden  []int
	Dropout float32
	Params  []float32
	Layers  []Layer
}

// Sizes returns the layer widths from input to output, e.g. 832,256,128,64,32,64,128,256,832.
func Sizes(input int, hidden []int) []int {
	s := []int{input}
	s = append(s, hidden...)
	for i := len(hidden) - 2; i >= 0; i-- {
		s = append(s, hidden[i])
	}
	return append(s, input)
}

// ParamCount is the number of float32 parameters of a network with these sizes.
func ParamCount(input int, hidden []int) int {
	s := Sizes(input, hidden)
	n := 0
	for i := 0; i+1 < len(s); i++ {
		n += s[i]*s[i+1] + s[i+1]
	}
	return n
}

// New builds a network and initialises it like PyTorch's nn.Linear: weights
// and biases uniform in ±1/sqrt(fan_in), drawn from a PCG seeded with seed.
func New(input int, hidden []int, dropout float32, seed uint64) (*Net, error) {
	n, err := FromParams(input, hidden, dropout, make([]float32, ParamCount(input, hidden)))
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, l := range n.Layers {
		bound := 1 / math.Sqrt(float64(l.In))
		for i := range l.W {
			l.W[i] = float32((rng.Float64()*2 - 1) * bound)
		}
		for i := range l.B {
			l.B[i] = float32((rng.Float64()*2 - 1) * bound)
		}
	}
	return n, nil
}

// FromParams builds a network over an existing flat parameter slice (not copied).
func FromParams(input int, hidden []int, dropout float32, params []float32) (*Net, error) {
	if input <= 0 || len(hidden) == 0 {
		return nil, fmt.Errorf("autoencoder needs an input width > 0 and at least one hidden size, got %d and %v", input, hidden)
	}
	for _, h := range hidden {
		if h <= 0 {
			return nil, fmt.Errorf("hidden sizes must be > 0, got %v", hidden)
		}
	}
	if want := ParamCount(input, hidden); len(params) != want {
		return nil, fmt.Errorf("network %d/%v needs %d parameters, got %d", input, hidden, want, len(params))
	}
	n := &Net{Input: input, Hidden: append([]int(nil), hidden...), Dropout: dropout, Params: params}
	s := Sizes(input, hidden)
	off := 0
	for i := 0; i+1 < len(s); i++ {
		in, out := s[i], s[i+1]
		l := Layer{In: in, Out: out}
		l.W = params[off : off+in*out : off+in*out]
		off += in * out
		l.B = params[off : off+out : off+out]
		off += out
		n.Layers = append(n.Layers, l)
	}
	return n, nil
}

// forward computes one layer's pre-activation Z = X·Wᵀ + b for rows rows.
func (l *Layer) forward(x []float32, rows int, z []float32) {
	matMulNT(rows, l.Out, l.In, x, l.In, l.W, l.In, z, l.Out, l.B, nil)
}

// Errors returns each row's reconstruction error (mean squared error over
// the columns) in evaluation mode (no dropout). x is rows×Input row-major.
func (n *Net) Errors(x []float32, rows int) []float64 {
	out := make([]float64, rows)
	const chunk = 256
	var bufs [2][]float32
	maxW := 0
	for _, l := range n.Layers {
		maxW = max(maxW, l.Out)
	}
	bufs[0] = make([]float32, min(chunk, rows)*maxW)
	bufs[1] = make([]float32, min(chunk, rows)*maxW)
	for r0 := 0; r0 < rows; r0 += chunk {
		m := min(chunk, rows-r0)
		xin := x[r0*n.Input : (r0+m)*n.Input]
		cur := xin
		for li := range n.Layers {
			l := &n.Layers[li]
			z := bufs[li%2][:m*l.Out]
			l.forward(cur, m, z)
			if li < len(n.Layers)-1 {
				for i, v := range z {
					if v < 0 {
						z[i] = 0
					}
				}
			}
			cur = z
		}
		for r := 0; r < m; r++ {
			var s float64
			a := xin[r*n.Input : (r+1)*n.Input]
			b := cur[r*n.Input : (r+1)*n.Input]
			for j := range a {
				d := float64(b[j] - a[j])
				s += d * d
			}
			out[r0+r] = s / float64(n.Input)
		}
	}
	return out
}

// MulNT sets c (a.Rows×b.Rows, row-major) to a·bᵀ on the training step's
// kernels, on two cores when there are: the Gram products of the kNN
// distance. Each value is computed the same way whatever the number of
// cores, so the result is the same bytes on one or two.
func MulNT(a, b Matrix, c []float32) {
	if a.Cols != b.Cols {
		panic(fmt.Sprintf("autoencoder: MulNT of %d and %d columns", a.Cols, b.Cols))
	}
	clear(c[:a.Rows*b.Rows])
	matMulNT(a.Rows, b.Rows, a.Cols, a.Data, a.Cols, b.Data, b.Cols, c, b.Rows, nil, nil)
}
