package trainer

import (
	"fmt"

	"github.com/sagetrain/sagetrain/internal/trainer/data"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
	"os"
	"path/filepath"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
)

// WriteSubset writes into dst a model folder holding only the groups of
// the model in src that keep accepts (the same format, its own weights.bin
// and checksum), and copies metrics.json when there is one. It returns the
// new manifest; errs.ErrConfiguration when no group is kept.
func WriteSubset(src, dst string, keep func(ModelGroup) bool) (*Manifest, error) {
	m, err := LoadModel(src)
	if err != nil {
		return nil, err
	}
	man := m.Manifest
	man.Groups = nil
	man.NTrain, man.NValidation = 0, 0
	var params [][]float32
	var refs []autoencoder.Matrix // format 2: each kept group's nearest-neighbour reference
	for i, g := range m.Manifest.Groups {
		if !keep(g) {
			continue
		}
		man.Groups = append(man.Groups, g)
		man.NTrain += g.NTrain
		man.NValidation += g.NValidation
		params = append(params, m.nets[i].Params)
		if i < len(m.scorers) {
			refs = append(refs, m.scorers[i].ref)
		}
	}
	if len(man.Groups) == 0 {
		return nil, errs.Configuration("no age group of the model lies in the range asked",
			"widen the age range, or leave it out to export every group", nil)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, err
	}
	if err := writeModel(dst, man, params, refs); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(src, MetricsFile)); err == nil {
		if err := writeFileAtomic(filepath.Join(dst, MetricsFile), b); err != nil {
			return nil, err
		}
	}
	out, err := LoadModel(dst)
	if err != nil {
		return nil, err
	}
	return &out.Manifest, nil
}

// ScoreImageBytes is ScoreImage for an image held in memory (an upload):
// the same decoding limits and descriptor.
func (m *Model) ScoreImageBytes(img []byte, subject string, ageYears float64) (Score, error) {
	if m.Manifest.Features.Kind != features.KindDescriptor {
		return Score{}, errs.Configuration("this model was trained on precomputed embeddings, not images",
			"send the drawing's embedding as features instead of an image", nil)
	}
	if err := features.CurrentSettings().Compatible(m.Manifest.Features); err != nil {
		return Score{}, err
	}
	if len(img) > MaxScoreImageBytes {
		return Score{}, errs.Configuration(fmt.Sprintf("image of %d bytes is larger than %d MiB", len(img), MaxScoreImageBytes>>20), "send a smaller scan or photo of the drawing", nil)
	}
	decoded, err := data.DecodeImageBytes(img)
	if err != nil {
		return Score{}, errs.Configuration("cannot read the image: "+err.Error(), "send a png, jpeg or bmp file that opens in an image viewer", nil)
	}
	return m.ScoreVector(features.Vector(decoded, subject), ageYears)
}

// MaxScoreImageBytes bounds one image sent to be scored.
const MaxScoreImageBytes = 32 << 20
