package autoencoder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
)

// Matrix is a row-major float32 matrix: Rows samples of Cols features.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// Row returns row i (a view).
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Config holds the training rules. Zero values are not defaults: the caller
// (package trainer) fills every field from hyperparameters.
type Config struct {
	Hidden     []int
	Dropout    float32
	LR         float64 // Adam learning rate
	BatchSize  int
	Epochs     int     // upper bound
	Patience   int     // early stop after this many epochs without an improvement of MinDelta
	MinDelta   float64 // absolute improvement of the validation loss that resets Patience
	LRPatience int     // multiply the learning rate by LRFactor after this many epochs without improvement
	LRFactor   float64
	GradClip   float64 // max global gradient L2 norm; 0 disables
	Seed       uint64

	// Augment, when set, trains on copies of the training rows as well.
	Augment *Augment

	// ValLoss, when set, replaces the measured validation loss of an epoch
	// (1-based) by its return value. It exists for tests and diagnostics.
	ValLoss func(epoch int, measured float64) float64
}

// Augment is data augmentation from copies made beforehand (the drawing
// rotated or scaled, its descriptor computed again): in every epoch each
// training row is replaced by one of its copies with probability Prob. The
// draw is a hash of (Seed, epoch, row), so an epoch's batches, and a resumed
// training, do not depend on anything else; an epoch has as many rows as
// without augmentation and costs the same.
type Augment struct {
	Copies Matrix // PerRow rows per training row: row i's are i*PerRow ... (i+1)*PerRow-1
	PerRow int
	Prob   float64
}

// row returns training row i of the given epoch: the row itself or a copy.
func (a *Augment) row(train Matrix, seed uint64, epoch, i int) []float32 {
	if a == nil || a.PerRow == 0 || a.Prob <= 0 {
		return train.Row(i)
	}
	h := mix64(mix64(seed^0x5851f42d4c957f2d) + uint64(epoch)<<32 + uint64(i))
	if float64(h>>11)/(1<<53) >= a.Prob {
		return train.Row(i)
	}
	return a.Copies.Row(i*a.PerRow + int((h&0x7ff)%uint64(a.PerRow))) // bits the rate's test does not read
}

// Adam's constants (PyTorch's defaults).
const (
	beta1 = 0.9
	beta2 = 0.999
	adamE = 1e-8
)

// EpochStats is one epoch of the history.
type EpochStats struct {
	Epoch     int     `json:"epoch"`
	TrainLoss float64 `json:"train_loss"`
	ValLoss   float64 `json:"val_loss"`
	LR        float64 `json:"lr"`
	Best      bool    `json:"best"`
}

// State is everything needed to continue training exactly where it stopped:
// it is what a checkpoint holds. Training resumed from a State gives the same
// weights as uninterrupted training because each epoch's shuffling and
// dropout come from a generator seeded with (Seed, epoch).
type State struct {
	Epoch      int // epochs completed
	Params     []float32
	M, V       []float32 // Adam moments
	Step       int64     // Adam steps taken
	LR         float64
	BestVal    float64 // lowest validation loss so far
	BestEpoch  int
	BestParams []float32
	StopRef    float64 // validation loss that the next epoch must beat by MinDelta
	SinceStop  int     // epochs without such an improvement
	LRRef      float64
	SinceLR    int
	Done       bool // training finished (early stop or Epochs reached); Params are the best epoch's
	History    []EpochStats
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := *s
	c.Params = slices.Clone(s.Params)
	c.M = slices.Clone(s.M)
	c.V = slices.Clone(s.V)
	c.BestParams = slices.Clone(s.BestParams)
	c.History = slices.Clone(s.History)
	return &c
}

// Init returns the state before the first epoch.
func Init(cfg Config, input int) (*State, error) {
	n, err := New(input, cfg.Hidden, cfg.Dropout, cfg.Seed)
	if err != nil {
		return nil, err
	}
	p := len(n.Params)
	return &State{
		Params: n.Params, M: make([]float32, p), V: make([]float32, p),
		LR: cfg.LR, BestVal: math.Inf(1), StopRef: math.Inf(1), LRRef: math.Inf(1),
		BestParams: slices.Clone(n.Params),
	}, nil
}

// Train trains from st (nil: a fresh network) until early stopping or
// cfg.Epochs. After every epoch it calls onEpoch (may be nil) with the state,
// which the callee must not keep or modify (Clone it). On success the
// returned state is Done and its Params are the best epoch's weights.
//
// When ctx is cancelled Train stops at the next batch and returns the state
// at the end of the last completed epoch together with ctx.Err(), so the
// caller can checkpoint it.
func Train(ctx context.Context, cfg Config, train, val Matrix, st *State, onEpoch func(*State) error) (*State, error) {
	if train.Rows == 0 {
		return nil, errors.New("no training rows")
	}
	if cfg.BatchSize <= 0 || cfg.Epochs <= 0 {
		return nil, fmt.Errorf("batch size and epochs must be > 0, got %d and %d", cfg.BatchSize, cfg.Epochs)
	}
	if st == nil {
		var err error
		if st, err = Init(cfg, train.Cols); err != nil {
			return nil, err
		}
	}
	if st.Done {
		return st, nil
	}
	net, err := FromParams(train.Cols, cfg.Hidden, cfg.Dropout, st.Params)
	if err != nil {
		return nil, fmt.Errorf("checkpoint does not fit the network: %w", err)
	}
	if val.Rows > 0 && val.Cols != train.Cols {
		return nil, fmt.Errorf("validation has %d columns, training %d", val.Cols, train.Cols)
	}
	if a := cfg.Augment; a != nil && a.PerRow > 0 && (a.Copies.Cols != train.Cols || a.Copies.Rows != train.Rows*a.PerRow) {
		return nil, fmt.Errorf("augmentation has %d rows of %d columns, want %d of %d", a.Copies.Rows, a.Copies.Cols, train.Rows*a.PerRow, train.Cols)
	}
	trainings.Add(1)
	defer trainings.Add(-1)
	w := newWorkspace(net, cfg.BatchSize)
	grads := make([]float32, len(st.Params))
	own := ownersOf(net)
	snap := st.Clone()
	for st.Epoch < cfg.Epochs {
		epoch := st.Epoch + 1
		// The snapshot returned on a cancel costs no copy: snap takes the
		// arrays as they are and st gets spare ones, which the epoch's first
		// Adam step fills from snap's (BestParams and History only change
		// at the end of an epoch, after which snap is taken anew).
		n := len(st.Params)
		sp, sm, sv := snap.Params, snap.M, snap.V
		*snap = *st
		snap.History = st.History[:len(st.History):len(st.History)]
		st.Params, st.M, st.V = spare(sp, n), spare(sm, n), spare(sv, n)
		net0, _ := FromParams(train.Cols, cfg.Hidden, cfg.Dropout, snap.Params)
		if net, err = FromParams(train.Cols, cfg.Hidden, cfg.Dropout, st.Params); err != nil {
			return nil, err
		}
		perm := rand.New(rand.NewPCG(cfg.Seed, uint64(epoch))).Perm(train.Rows)
		var lossSum float64
		for b0 := 0; b0 < train.Rows; b0 += cfg.BatchSize {
			if ctx.Err() != nil {
				return snap, ctx.Err()
			}
			rows := min(cfg.BatchSize, train.Rows-b0)
			// the batch's rows, gathered from all over the training matrix
			// (memory-bound: each core gathers half)
			gather := func(r0, r1 int) {
				for r := r0; r < r1; r++ {
					copy(w.x[r*train.Cols:(r+1)*train.Cols], cfg.Augment.row(train, cfg.Seed, epoch, perm[b0+r]))
				}
			}
			inPair(func() { gather(0, rows/2) }, func() { gather(rows/2, rows) })
			from, fromNet := st, net
			if b0 == 0 {
				from, fromNet = snap, net0
			}
			loss := w.step(fromNet, rows, stepKey(cfg.Seed, epoch, b0/cfg.BatchSize), grads)
			lossSum += loss * float64(rows)
			st.Step++
			adam(st, from, grads, clipFactor(grads, cfg.GradClip, own), own)
		}
		trainLoss := lossSum / float64(train.Rows)
		valLoss := trainLoss
		if val.Rows > 0 {
			valLoss = meanOf(net.Errors(val.Data, val.Rows))
		}
		if cfg.ValLoss != nil {
			valLoss = cfg.ValLoss(epoch, valLoss)
		}
		st.Epoch = epoch
		es := EpochStats{Epoch: epoch, TrainLoss: trainLoss, ValLoss: valLoss, LR: st.LR}
		if valLoss < st.BestVal {
			st.BestVal, st.BestEpoch = valLoss, epoch
			copy(st.BestParams, st.Params)
			es.Best = true
		}
		if valLoss < st.StopRef-cfg.MinDelta {
			st.StopRef, st.SinceStop = valLoss, 0
		} else {
			st.SinceStop++
		}
		// The scheduler follows PyTorch's ReduceLROnPlateau (relative threshold 1e-4).
		if valLoss < st.LRRef*(1-1e-4) {
			st.LRRef, st.SinceLR = valLoss, 0
		} else if st.SinceLR++; st.SinceLR >= cfg.LRPatience && cfg.LRPatience > 0 {
			st.LR *= cfg.LRFactor
			st.SinceLR = 0
		}
		st.History = append(st.History, es)
		if (cfg.Patience > 0 && st.SinceStop >= cfg.Patience) || st.Epoch >= cfg.Epochs {
			st.Done = true
			copy(st.Params, st.BestParams)
		}
		if onEpoch != nil {
			if err := onEpoch(st); err != nil {
				return st, err
			}
		}
		if st.Done {
			break
		}
	}
	if !st.Done { // resumed with Epoch already at the limit
		st.Done = true
		copy(st.Params, st.BestParams)
	}
	return st, nil
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// clipFactor returns the factor that brings g's L2 norm down to c (PyTorch's
// clip_grad_norm_), or 1. The sum runs in one fixed order, so it is reproducible.
func clipFactor(g []float32, c float64, own *owners) float32 {
	if c <= 0 {
		return 1
	}
	norm := math.Sqrt(sumSquares(g, own))
	if norm <= c {
		return 1
	}
	return float32(c / (norm + 1e-6))
}

// spare returns s when it holds n values, else a new slice.
func spare(s []float32, n int) []float32 {
	if len(s) == n {
		return s
	}
	return make([]float32, n)
}

// owners are the two cores' parts of the Params layout, as [from, to)
// segments: of every layer, the weights and biases of the units [0, mid) and
// [mid, Out) (see ownerMid). Adam and the gradient's norm run on them, so each
// core touches the parameters whose gradient it wrote.
type owners [2][][2]int

func ownersOf(n *Net) *owners {
	var o owners
	off := 0
	for _, l := range n.Layers {
		mid := ownerMid(l.Out)
		if l.Out < 32 {
			mid = l.Out
		}
		w, b := off, off+l.In*l.Out
		o[0] = append(o[0], [2]int{w, w + mid*l.In}, [2]int{b, b + mid})
		o[1] = append(o[1], [2]int{w + mid*l.In, b}, [2]int{b + mid, b + l.Out})
		off = b + l.Out
	}
	return &o
}

// adam applies one Adam step (PyTorch's formulation, no weight decay) with
// the gradient scaled by f, to from's parameters and moments, into st's
// (from may be st). Every parameter is updated on its own, so the work is
// split over the cores, each its owned segments, without changing any result.
func adam(st, from *State, g []float32, f float32, own *owners) {
	bc1 := 1 - math.Pow(beta1, float64(st.Step))
	bc2 := 1 - math.Pow(beta2, float64(st.Step))
	stepSize := float32(st.LR / bc1)
	sqrtBC2 := float32(math.Sqrt(bc2))
	k := [8]float32{f, beta1, 1 - beta1, beta2, 1 - beta2, sqrtBC2, adamE, stepSize}
	n := len(st.Params)
	if n < 65536 || runtime.GOMAXPROCS(0) < 2 {
		adamUpdate(st.Params, st.M, st.V, from.Params, from.M, from.V, g, &k)
		return
	}
	update := func(segs [][2]int) {
		for _, sg := range segs {
			a, b := sg[0], sg[1]
			if a < b {
				adamUpdate(st.Params[a:b], st.M[a:b], st.V[a:b], from.Params[a:b], from.M[a:b], from.V[a:b], g[a:b], &k)
			}
		}
	}
	inPair(func() { update(own[0]) }, func() { update(own[1]) })
}

// workspace holds the per-batch activations.
type workspace struct {
	x       []float32   // batch input
	z       [][]float32 // per layer: pre-activation (later overwritten by the gradient)
	a       [][]float32 // per hidden layer: activation after ReLU and dropout
	mask    [][]float32 // per hidden layer: dropout scale (0 or 1/(1-p))
	dprev   []float32
	colLoss []float64 // per output column: the batch's squared error
	wOff    []int     // per layer: offset of W in the Params layout (B follows)
}

func newWorkspace(n *Net, batch int) *workspace {
	w := &workspace{x: make([]float32, batch*n.Input), colLoss: make([]float64, n.Input)}
	maxW, off := 0, 0
	for _, l := range n.Layers {
		w.z = append(w.z, make([]float32, batch*l.Out))
		w.a = append(w.a, make([]float32, batch*l.Out))
		w.mask = append(w.mask, make([]float32, batch*l.Out))
		maxW = max(maxW, l.In)
		w.wOff = append(w.wOff, off)
		off += l.In*l.Out + l.Out
	}
	w.dprev = make([]float32, batch*maxW)
	return w
}

// stepKey is the dropout key of one batch: a function of the seed, the epoch
// and the batch only, so resuming mid-training draws the same masks.
func stepKey(seed uint64, epoch, batch int) uint64 {
	return mix64(mix64(seed^0xd1b54a32d192ed03) + uint64(epoch)<<32 + uint64(batch))
}

// mix64 is SplitMix64's finaliser: a bijection that scatters every input bit.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// step runs forward and backward on the first rows of w.x, writes the
// gradient of the mean squared error into grads (the Params layout) and
// returns the loss. Dropout unit i of layer li is dropped when a hash of
// (key, li, i) falls below the dropout rate: the mask of each unit is known
// on its own, so the pass over a block of columns that follows a product
// runs on the core that computed the block, whatever the split.
func (w *workspace) step(n *Net, rows int, key uint64, grads []float32) float64 {
	last := len(n.Layers) - 1
	keep := 1 - n.Dropout
	scale := float32(1)
	if keep > 0 {
		scale = 1 / keep
	}
	thr := uint64(float64(n.Dropout) * (1 << 32)) // dropped when the top 32 bits of the hash are below
	in := w.x[:rows*n.Input]
	x := in
	g := float32(2 / float64(rows*n.Input))
	for li := range n.Layers {
		l := &n.Layers[li]
		z := w.z[li][:rows*l.Out]
		var epi func(j0, j1 int)
		if li < last {
			a, mk := w.a[li][:len(z)], w.mask[li][:len(z)]
			lkey := mix64(key + uint64(li+1)*0x9e3779b97f4a7c15)
			out := l.Out
			scaleBits := math.Float32bits(scale)
			epi = func(j0, j1 int) {
				for r := 0; r < rows; r++ {
					for i := r*out + j0; i < r*out+j1; i++ {
						// kept: the hash's top 32 bits at or above thr. Without a
						// branch (one in ten mispredicted at dropout 0.1): the
						// borrow of h - thr is 1 when dropped, so the mask is 0
						// and m is +0, as the branch gave.
						keep := uint32((mix64(lkey+uint64(i))>>32-thr)>>63) - 1
						m := math.Float32frombits(scaleBits & keep)
						mk[i] = m
						a[i] = max(z[i], 0) * m
					}
				}
			}
			matMulNT(rows, l.Out, l.In, in, l.In, l.W, l.In, z, l.Out, l.B, epi)
			in = a
			continue
		}
		// The output layer: the loss per column, its gradient written over z and the bias gradient.
		gb := grads[w.wOff[li]+l.In*l.Out : w.wOff[li]+l.In*l.Out+l.Out]
		out := l.Out
		epi = func(j0, j1 int) {
			// row by row, one running sum per column: the same additions in
			// the same order as column by column, without a column's chain
			// of dependent adds or its stride through z
			s, b := w.colLoss[j0:j1], gb[j0:j1]
			clear(s)
			clear(b)
			for r := 0; r < rows; r++ {
				zr, xr := z[r*out+j0:r*out+j1], x[r*out+j0:r*out+j1]
				for k := range zr {
					d := zr[k] - xr[k]
					s[k] += float64(d) * float64(d)
					zr[k] = g * d
					b[k] += zr[k]
				}
			}
		}
		matMulNT(rows, l.Out, l.In, in, l.In, l.W, l.In, z, l.Out, l.B, epi)
	}
	var loss float64
	for _, s := range w.colLoss[:n.Input] {
		loss += s
	}
	loss /= float64(rows * n.Input)
	// Backward: the bias gradient of a layer is summed in the pass that makes its dz.
	for li := last; li >= 0; li-- {
		l := &n.Layers[li]
		dz := w.z[li][:rows*l.Out]
		gw := grads[w.wOff[li] : w.wOff[li]+l.In*l.Out]
		var prev []float32
		if li > 0 {
			prev = w.a[li-1][:rows*l.In]
		} else {
			prev = w.x[:rows*l.In]
		}
		dW := bcastRowsProduct(l.Out, l.In, rows, dz, 1, l.Out, prev, l.In, gw, l.In, false) // dW = dZᵀ·X
		if li == 0 {
			dW.run()
			break
		}
		// dX = dZ·W, then through dropout and ReLU into the previous layer's pre-activation.
		dp := w.dprev[:rows*l.In]
		pz, mk := w.z[li-1][:rows*l.In], w.mask[li-1][:rows*l.In]
		pl := &n.Layers[li-1]
		pgb := grads[w.wOff[li-1]+pl.In*pl.Out : w.wOff[li-1]+pl.In*pl.Out+pl.Out]
		width := l.In
		// dX = dZ·W reads what dW reads (dZ) and writes elsewhere: both in one hand-off
		runPair(dW, bcastProduct(rows, l.In, l.Out, dz, l.Out, 1, l.W, l.In, dp, l.In, false, func(j0, j1 int) {
			clear(pgb[j0:j1])
			for r := 0; r < rows; r++ {
				for i := r*width + j0; i < r*width+j1; i++ {
					v := float32(0)
					if pz[i] > 0 {
						v = dp[i] * mk[i]
					}
					pz[i] = v
					pgb[i-r*width] += v
				}
			}
		}))
	}
	return loss
}
