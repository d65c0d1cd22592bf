package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Upper bounds of the hyperparameters that size the network or the memory
// a job takes (docs/api.md lists them). The defaults are far below them.
const (
	MaxHiddenSize   = 16384
	MaxHiddenLayers = 16
	MaxBatchSize    = 65536
	MaxEpochs       = 100000
	MaxWorkers      = 256
)

// EstimateInputWidth is the input width memory estimates assume: the
// descriptor-plus-subject vector (832). Precomputed embeddings of another
// width scale the estimate with it.
const EstimateInputWidth = 832

// DefaultMaxJobMemory is serve's default limit on a job's estimated memory.
const DefaultMaxJobMemory int64 = 4 << 30

// Resources checks the hyperparameters that size a job (hidden_sizes,
// batch_size, epochs, workers) against their bounds and estimates the bytes
// the network takes to train. Values that do not parse are left to the
// trainer's own checks; defaults stand in for absent ones.
func Resources(hp map[string]string) (estimate int64, out []Violation) {
	add := func(field, format string, args ...any) {
		out = append(out, Violation{Field: "hyperparameters." + field, Message: fmt.Sprintf(format, args...)})
	}
	hidden := []int64{256, 128, 64, 32}
	if v, ok := hp["hidden_sizes"]; ok {
		parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' })
		if len(parts) > MaxHiddenLayers {
			add("hidden_sizes", "has %d layers; at most %d", len(parts), MaxHiddenLayers)
			parts = parts[:MaxHiddenLayers]
		}
		var hs []int64
		for _, p := range parts {
			n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				hs = nil
				break
			}
			if n > MaxHiddenSize {
				add("hidden_sizes", "has a layer of %d units; at most %d a layer", n, MaxHiddenSize)
				n = MaxHiddenSize
			}
			hs = append(hs, max(n, 1))
		}
		if len(hs) > 0 {
			hidden = hs
		}
	}
	bound := func(name string, def, hi int64) int64 {
		v, ok := hp[name]
		if !ok {
			return def
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return def
		}
		if n > hi {
			add(name, "is %d; at most %d", n, hi)
			return hi
		}
		return max(n, 1)
	}
	batch := bound("batch_size", 32, MaxBatchSize)
	bound("epochs", 100, MaxEpochs)
	bound("workers", 1, MaxWorkers)
	return MemoryEstimate(EstimateInputWidth, hidden, batch), out
}

// MemoryEstimate is the bytes an autoencoder of these sizes takes to
// train: float32 weights, their gradients, Adam's two moments and the best
// epoch's copy (5 per parameter), plus one batch's activations and their
// gradients, kept three to a layer (pre-activation, output, dropout mask).
func MemoryEstimate(input int64, hidden []int64, batch int64) int64 {
	widths := []int64{input}
	widths = append(widths, hidden...)
	for i := len(hidden) - 2; i >= 0; i-- {
		widths = append(widths, hidden[i])
	}
	widths = append(widths, input)
	params, acts := 0.0, 0.0
	for i := 1; i < len(widths); i++ {
		params += float64(widths[i-1])*float64(widths[i]) + float64(widths[i])
		acts += float64(widths[i])
	}
	b := params*5*4 + float64(batch)*acts*3*2*4
	if b > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(b)
}

// FormatBytes writes n as KiB, MiB, GiB or TiB.
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// ParseBytes reads a size such as 4GiB, 512MiB, 2G or 1048576.
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || f*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is not a size like 4GiB or 512MiB", s)
	}
	return int64(f * float64(mult)), nil
}
