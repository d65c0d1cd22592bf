package autoencoder

import (
	"runtime"
	"sync"
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
