package trainer

import (
	"fmt"
	"math"
	"sort"

	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

// Standardisation methods (hyperparameter "standardization", recorded in model.json).
const (
	// StandardiseRobust: per-feature mean and standard deviation of the normal
	// training samples, the deviation floored at std_floor_fraction times the
	// median deviation of the feature's block, and z-scores clipped to ±z_clip.
	StandardiseRobust = "robust"
	// StandardiseStd is format version 1's rule: only a deviation below 1e-6
	// is replaced (by 1), no clipping. A nearly constant feature then turns an
	// ordinary difference into an enormous z-score (issue 19); kept to read
	// old models and to measure against.
	StandardiseStd = "std"
)

// Normalization is the standardisation fitted on the training split:
// z = (x - Mean) / Std per feature, then clipped to ±ClipZ when ClipZ > 0.
// Features that were not standardised (the subject one-hot, constant
// features) have Mean 0 and Std 1. Method "" is a format-1 model (StandardiseStd).
type Normalization struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`

	Method           string      `json:"method,omitempty"`
	StdFloorFraction float64     `json:"std_floor_fraction,omitempty"`
	ClipZ            float64     `json:"clip_z,omitempty"`
	Blocks           []NormBlock `json:"blocks,omitempty"`
}

// NormBlock is one block of features that shares a deviation floor: the
// descriptor's named parts (features.Settings.Blocks), the whole visual part
// of embeddings, and the subject one-hot (not standardised).
type NormBlock struct {
	Name      string  `json:"name"`
	Start     int     `json:"start"`
	Size      int     `json:"size"`
	MedianStd float64 `json:"median_std"` // typical spread of the block's features
	Floor     float64 `json:"std_floor"`  // StdFloorFraction * MedianStd
	NFloored  int     `json:"n_floored"`  // features whose deviation was raised to the floor
}

// normBlocks lays out the blocks of a vector of width dim whose first nStd
// values are the visual part.
func normBlocks(settings features.Settings, dim, nStd int) []NormBlock {
	var bs []NormBlock
	off := 0
	for _, b := range settings.Blocks {
		if off+b.Size > nStd {
			break
		}
		bs = append(bs, NormBlock{Name: b.Name, Start: off, Size: b.Size})
		off += b.Size
	}
	if off < nStd {
		name := "embedding"
		if len(bs) > 0 {
			name = "visual_rest"
		}
		bs = append(bs, NormBlock{Name: name, Start: off, Size: nStd - off})
	}
	if dim > nStd {
		bs = append(bs, NormBlock{Name: "subject", Start: nStd, Size: dim - nStd})
	}
	return bs
}

// fitNormalization computes the standardisation over the normal training
// samples for the first nStd features (the visual part); the others (subject
// one-hot) stay as they are.
func fitNormalization(train []features.Sample, settings features.Settings, dim, nStd int, p Params) Normalization {
	n := Normalization{Mean: make([]float32, dim), Std: make([]float32, dim), Method: p.Standardization}
	sum := make([]float64, dim)
	sq := make([]float64, dim)
	cnt := 0
	for _, s := range train {
		if s.Label != "normal" {
			continue
		}
		cnt++
		for j, v := range s.X[:nStd] {
			sum[j] += float64(v)
		}
	}
	for j := range n.Std {
		n.Std[j] = 1
	}
	if cnt == 0 {
		return n
	}
	for j := 0; j < nStd; j++ {
		sum[j] /= float64(cnt)
	}
	for _, s := range train {
		if s.Label != "normal" {
			continue
		}
		for j, v := range s.X[:nStd] {
			d := float64(v) - sum[j]
			sq[j] += d * d
		}
	}
	sd := make([]float64, nStd)
	for j := 0; j < nStd; j++ {
		sd[j] = math.Sqrt(sq[j] / float64(cnt))
		n.Mean[j] = float32(sum[j])
	}
	if p.Standardization == StandardiseStd {
		for j := 0; j < nStd; j++ {
			if sd[j] > 1e-6 {
				n.Std[j] = float32(sd[j])
			}
		}
		return n
	}
	n.StdFloorFraction, n.ClipZ = p.StdFloorFraction, p.ZClip
	n.Blocks = normBlocks(settings, dim, nStd)
	for bi := range n.Blocks {
		b := &n.Blocks[bi]
		if b.Start >= nStd {
			continue // subject one-hot: not standardised
		}
		vals := append([]float64(nil), sd[b.Start:b.Start+b.Size]...)
		sort.Float64s(vals)
		b.MedianStd = vals[len(vals)/2]
		b.Floor = p.StdFloorFraction * b.MedianStd
		for j := b.Start; j < b.Start+b.Size; j++ {
			s := sd[j]
			if s < b.Floor {
				s = b.Floor
				b.NFloored++
			}
			if s > 1e-12 {
				n.Std[j] = float32(s)
			}
		}
	}
	return n
}

func (n Normalization) apply(x, out []float32) {
	c := float32(n.ClipZ)
	for j, v := range x {
		z := (v - n.Mean[j]) / n.Std[j]
		if c > 0 {
			z = max(-c, min(c, z))
		}
		out[j] = z
	}
}

// featureName names feature j for reports: its block and index within it.
func (n Normalization) featureName(j int) string {
	for _, b := range n.Blocks {
		if j >= b.Start && j < b.Start+b.Size {
			return fmt.Sprintf("%s[%d]", b.Name, j-b.Start)
		}
	}
	return fmt.Sprintf("feature[%d]", j)
}
