package autoencoder

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Many callers at once share one partner: whoever does not get it runs both
// halves itself, and every caller sees both of its halves done on return.
func TestInPairUnderConcurrentCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				var lo, hi int
				inPair(func() { lo = i }, func() { hi = i + 1 })
				if lo != i || hi != i+1 {
					t.Errorf("halves not both done: lo %d hi %d, want %d %d", lo, hi, i, i+1)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// After a pause longer than its spin the partner sleeps, and the next task
// must still wake it.
func TestInPairWakesASleepingPartner(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for i := 0; i < 5; i++ {
		time.Sleep(2 * spinFor)
		ran := false
		inPair(func() {}, func() { ran = true })
		if !ran {
			t.Fatal("the partner's half did not run")
		}
	}
}

// While two trainings run, a product's halves run one after the other on
// the caller (lo, then hi); with one training, hi runs on the partner while
// lo is still running.
func TestTwoTrainingsKeepTheirProductsOnTheirCores(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	overlapped := func() bool {
		var loDone atomic.Bool
		hiSawLoDone := true
		inPair(func() { time.Sleep(20 * time.Millisecond); loDone.Store(true) }, func() { hiSawLoDone = loDone.Load() })
		return !hiSawLoDone
	}
	trainings.Add(1)
	if !overlapped() {
		t.Error("one training: the halves ran one after the other")
	}
	trainings.Add(1)
	if overlapped() {
		t.Error("two trainings: a product was handed to the partner")
	}
	trainings.Add(-1)
	if !overlapped() {
		t.Error("the training left alone did not split its products again")
	}
	trainings.Add(-1)
}
