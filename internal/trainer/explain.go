package trainer

import "github.com/sagetrain/sagetrain/internal/trainer/autoencoder"

// singleFeatureShare is the share of a drawing's reconstruction error above
// which one feature "decides" the verdict (issue 19): the evaluation counts
// anomalous verdicts where one feature carries more than this.
const singleFeatureShare = 0.5

// reconstruct runs one standardised row through net in evaluation mode.
// It is the same arithmetic as autoencoder.Net.Errors, for one row, kept
// here to explain a score feature by feature.
func reconstruct(net *autoencoder.Net, z []float32) []float32 {
	cur := z
	for li, l := range net.Layers {
		out := make([]float32, l.Out)
		for o := 0; o < l.Out; o++ {
			s := l.B[o]
			w := l.W[o*l.In : (o+1)*l.In]
			for i, v := range cur {
				s += w[i] * v
			}
			if li < len(net.Layers)-1 && s < 0 {
				s = 0
			}
			out[o] = s
		}
		cur = out
	}
	return cur
}

// largestFeature returns the feature with the largest squared
// reconstruction difference and the share of the row's total it carries.
func largestFeature(net *autoencoder.Net, z []float32) (int, float64) {
	rec := reconstruct(net, z)
	var total, best float64
	bj := 0
	for j, v := range z {
		d := float64(v - rec[j])
		d *= d
		total += d
		if d > best {
			best, bj = d, j
		}
	}
	if total == 0 {
		return bj, 0
	}
	return bj, best / total
}
