package autoencoder

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func randMatrix(rows, cols int, seed uint64) Matrix {
	r := rand.New(rand.NewPCG(seed, 1))
	m := Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
	for i := range m.Data {
		m.Data[i] = float32(r.NormFloat64())
	}
	return m
}

func smallConfig() Config {
	return Config{Hidden: []int{8, 4}, Dropout: 0.1, LR: 1e-3, BatchSize: 8, Epochs: 6,
		Patience: 10, MinDelta: 1e-4, LRPatience: 5, LRFactor: 0.5, GradClip: 1, Seed: 7}
}

// The analytic gradient of step must match finite differences of the loss.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	net, err := New(6, []int{5, 3}, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := randMatrix(4, 6, 9)
	w := newWorkspace(net, 4)
	copy(w.x, x.Data)
	grads := make([]float32, len(net.Params))
	w.step(net, 4, 1, grads)
	loss := func() float64 { return meanOf(net.Errors(x.Data, 4)) }
	for _, i := range []int{0, 7, 29, 31, len(net.Params) / 2, len(net.Params) - 1} {
		orig := net.Params[i]
		const h = 1e-2
		net.Params[i] = orig + h
		up := loss()
		net.Params[i] = orig - h
		down := loss()
		net.Params[i] = orig
		num := (up - down) / (2 * h)
		if math.Abs(num-float64(grads[i])) > 1e-3+0.02*math.Abs(num) {
			t.Errorf("param %d: analytic %g, numeric %g", i, grads[i], num)
		}
	}
}

func TestTrainingLowersLossAndIsDeterministic(t *testing.T) {
	train, val := randMatrix(100, 12, 1), randMatrix(30, 12, 2)
	cfg := smallConfig()
	cfg.Epochs = 30
	a, err := Train(context.Background(), cfg, train, val, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), cfg, train, val, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Params, b.Params) {
		t.Fatal("two runs with the same seed gave different weights")
	}
	h := a.History
	if h[len(h)-1].TrainLoss >= h[0].TrainLoss {
		t.Fatalf("training loss did not fall: first %g last %g", h[0].TrainLoss, h[len(h)-1].TrainLoss)
	}
	cfg.Seed = 8
	c, _ := Train(context.Background(), cfg, train, val, nil, nil)
	if slices.Equal(a.Params, c.Params) {
		t.Fatal("a different seed gave the same weights")
	}
}

// The weights kept are the best validation epoch's, not the last one's.
func TestBestEpochWeightsAreKept(t *testing.T) {
	train, val := randMatrix(64, 10, 3), randMatrix(16, 10, 4)
	cfg := smallConfig()
	cfg.Epochs = 8
	curve := []float64{5, 4, 1, 3, 3.5, 2, 4, 6} // best at epoch 3
	cfg.ValLoss = func(epoch int, _ float64) float64 { return curve[epoch-1] }
	var atEpoch3 []float32
	st, err := Train(context.Background(), cfg, train, val, nil, func(s *State) error {
		if s.Epoch == 3 {
			atEpoch3 = slices.Clone(s.Params)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.BestEpoch != 3 || st.Epoch != 8 {
		t.Fatalf("best epoch %d after %d epochs, want 3 after 8", st.BestEpoch, st.Epoch)
	}
	if !slices.Equal(st.Params, atEpoch3) {
		t.Fatal("final weights are not epoch 3's")
	}
}

func TestEarlyStoppingAndLRSchedule(t *testing.T) {
	train, val := randMatrix(32, 6, 5), randMatrix(8, 6, 6)
	cfg := smallConfig()
	cfg.Epochs, cfg.Patience, cfg.LRPatience = 50, 4, 2
	cfg.ValLoss = func(epoch int, _ float64) float64 {
		if epoch <= 2 {
			return float64(10 - epoch)
		}
		return 9 // flat from epoch 3: no improvement
	}
	st, err := Train(context.Background(), cfg, train, val, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 6 {
		t.Fatalf("stopped after %d epochs, want 6 (2 improving + patience 4)", st.Epoch)
	}
	if got := st.History[len(st.History)-1].LR; got != cfg.LR*cfg.LRFactor {
		t.Fatalf("lr in the last epoch %g, want %g (halved once after 2 flat epochs)", got, cfg.LR*cfg.LRFactor)
	}
	if st.LR != cfg.LR*cfg.LRFactor*cfg.LRFactor {
		t.Fatalf("lr after 4 flat epochs %g, want %g", st.LR, cfg.LR/4)
	}
}

// Cancelling mid-training returns the last completed epoch's state; resuming
// from it ends with the same weights as an uninterrupted run.
func TestResumeFromCancelledStateMatchesUninterrupted(t *testing.T) {
	train, val := randMatrix(80, 10, 7), randMatrix(20, 10, 8)
	cfg := smallConfig()
	cfg.Epochs = 10
	full, err := Train(context.Background(), cfg, train, val, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	part, err := Train(ctx, cfg, train, val, nil, func(s *State) error {
		if s.Epoch == 4 {
			cancel()
		}
		return nil
	})
	if err == nil || part.Epoch != 4 || part.Done {
		t.Fatalf("cancelled run: err %v, epoch %d, done %v", err, part.Epoch, part.Done)
	}
	rest, err := Train(context.Background(), cfg, train, val, part.Clone(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rest.Params, full.Params) || len(rest.History) != len(full.History) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
}

func BenchmarkTrainDefaultNetwork(b *testing.B) {
	x := randMatrix(2048, 832, 1)
	cfg := Config{Hidden: []int{256, 128, 64, 32}, Dropout: 0.1, LR: 1e-3, BatchSize: 32, Epochs: 1, GradClip: 1, Seed: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(context.Background(), cfg, x, Matrix{}, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(x.Rows*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// The weights do not depend on the number of cores: products are split over
// output blocks and Adam over parameters, never over a sum.
func TestSameWeightsOnOneOrTwoCores(t *testing.T) {
	train := randMatrix(96, 256, 11)
	cfg := smallConfig()
	cfg.Hidden, cfg.Epochs, cfg.BatchSize = []int{256, 64}, 2, 32
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		st, err := Train(context.Background(), cfg, train, Matrix{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st.Params
	}
	// A few times over: the race detector does not see the assembly kernels'
	// writes, so a race between the two halves of a step shows only here, and
	// only now and then.
	one := run(1)
	for range 5 {
		if !slices.Equal(one, run(2)) {
			t.Fatal("weights differ between GOMAXPROCS=1 and 2")
		}
	}
}

// Dropout drops its rate of the hidden units, with masks that differ from
// batch to batch and scale the kept units by 1/(1-p).
func TestDropoutRate(t *testing.T) {
	net, err := New(64, []int{128, 32}, 0.25, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := randMatrix(32, 64, 2)
	w := newWorkspace(net, 32)
	copy(w.x, x.Data)
	grads := make([]float32, len(net.Params))
	var first []float32
	for key := uint64(1); key <= 2; key++ {
		w.step(net, 32, key, grads)
		dropped := 0
		for _, mk := range w.mask[:3] {
			for _, m := range mk {
				switch m {
				case 0:
					dropped++
				case 1 / 0.75:
				default:
					t.Fatalf("mask value %g, want 0 or %g", m, 1/0.75)
				}
			}
		}
		total := 32 * (128 + 32 + 128)
		if f := float64(dropped) / float64(total); math.Abs(f-0.25) > 0.02 {
			t.Fatalf("dropped %.3f of the units, want 0.25", f)
		}
		if key == 1 {
			first = slices.Clone(w.mask[0])
		} else if slices.Equal(first, w.mask[0]) {
			t.Fatal("two batches got the same dropout mask")
		}
	}
}

// A small age group, as the 2,000-image task has seventeen of: 100 rows, 60 epochs.
func BenchmarkTrainSmallGroup(b *testing.B) {
	x, val := randMatrix(100, 832, 1), randMatrix(17, 832, 2)
	cfg := Config{Hidden: []int{256, 128, 64, 32}, Dropout: 0.1, LR: 1e-3, BatchSize: 32, Epochs: 60, GradClip: 1, Seed: 1,
		LRFactor: 0.5, LRPatience: 5}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Train(context.Background(), cfg, x, val, nil, func(*State) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(x.Rows*cfg.Epochs*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// Augmentation draws copies at the asked rate, the same on every run, and
// a network trained on copies shifted by a constant learns the shift.
func TestAugmentDrawsCopiesAtItsRate(t *testing.T) {
	train := randMatrix(200, 8, 4)
	copies := Matrix{Rows: 400, Cols: 8, Data: make([]float32, 400*8)}
	for i := range copies.Data {
		copies.Data[i] = 100 + float32(i) // recognisable: every copy value is >= 100
	}
	a := &Augment{Copies: copies, PerRow: 2, Prob: 0.3}
	used, which := 0, map[int]bool{}
	for i := range train.Rows {
		r := a.row(train, 7, 3, i)
		if !slices.Equal(r, a.row(train, 7, 3, i)) {
			t.Fatal("the same (seed, epoch, row) drew twice differently")
		}
		if r[0] >= 100 {
			used++
			k := int(r[0]-100) / 8
			if k/2 != i {
				t.Fatalf("row %d got copy row %d, not one of its own", i, k)
			}
			which[k%2] = true
		}
	}
	if used < 40 || used > 80 || len(which) != 2 {
		t.Fatalf("%d of 200 rows replaced (want about 60), copies used %v", used, which)
	}
	if _, err := Train(context.Background(), Config{Hidden: []int{4}, LR: 1e-3, BatchSize: 10, Epochs: 1, Augment: &Augment{Copies: train, PerRow: 2, Prob: 1}}, train, Matrix{}, nil, nil); err == nil {
		t.Fatal("copies of the wrong shape were accepted")
	}
}
