package trainer

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sagetrain/sagetrain/internal/buildinfo"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/provenance"
	"github.com/sagetrain/sagetrain/internal/trainer/autoencoder"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

// Model file names and format.
const (
	ManifestFile = "model.json"
	WeightsFile  = "weights.bin"
	MetricsFile  = "metrics.json"
	ModelFormat  = "sagetrain-drawing-anomaly-model"
	// FormatVersion 3 (issue 18) adds knn_year_refs and each group's
	// reference_years: the kNN reference of a drawing is its year of age.
	FormatVersion = 3
	// minFormatVersion is the oldest format LoadModel reads: version 1 has
	// the plain standardisation (Normalization.Method "").
	minFormatVersion = 1
)

// Manifest is model/model.json (format version 1): everything needed to
// score a drawing except the weights, which are in weights.bin: for each
// group in manifest order, its network parameters as little-endian float32,
// layer by layer, each layer's weight matrix (out×in, row-major, PyTorch's
// nn.Linear layout) then its bias. A group's slice starts at WeightsOffset
// bytes and holds WeightsCount values.
type Manifest struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`

	Features      features.Settings `json:"features"`
	Normalization Normalization     `json:"normalization"`
	Architecture  Architecture      `json:"architecture"`

	// Threshold rule: the ThresholdPercentile-th percentile of the
	// reconstruction error of the group's normal samples (see Group.ThresholdSource).
	ThresholdPercentile float64 `json:"threshold_percentile"`

	Groups        []ModelGroup `json:"groups"`
	SkippedGroups []AgeGroup   `json:"skipped_groups"` // age ranges too small to train; scored by the nearest group

	NTrain          int    `json:"n_train"`
	NValidation     int    `json:"n_validation"`
	Hyperparameters Params `json:"hyperparameters"`
	WeightsFile     string `json:"weights_file"`
	WeightsSHA256   string `json:"weights_sha256"`
	ErrorMetric     string `json:"error_metric"` // "mse": mean over features of the squared difference, on standardised features
	ScoreDefinition string `json:"score_definition"`

	Trainer buildinfo.Info `json:"trainer"` // the sagetrain that trained it
	// Provenance: the trainer's build, the data's digest, the image digest,
	// the hyperparameters as parsed and the seed.
	Provenance *provenance.Provenance `json:"provenance,omitempty"`
	// ScoreMethod is ScoreEnsemble or ScoreAutoencoder ("" in format 1: the
	// error alone, thresholds on the error); KNNNeighbours the ensemble's k.
	ScoreMethod   string `json:"score_method,omitempty"`
	KNNNeighbours int    `json:"knn_k,omitempty"`
	// KNNBlocks are the normalization blocks the distance uses, each
	// feature weighted 1/sqrt(its block's size); empty: every feature, weight 1.
	// The stored reference rows are already weighted.
	KNNBlocks []string `json:"knn_blocks,omitempty"`
	KNNWeight float64  `json:"knn_weight,omitempty"` // the kNN part's weight in the ensemble
	// KNNYearRefs (format 3): a drawing's kNN reference is the group's rows
	// of its year of age (Groups[].ReferenceYears), widened a year each way
	// until at least max(KNNYearRefs, KNNNeighbours+1); 0: the whole group.
	KNNYearRefs int `json:"knn_year_refs,omitempty"`
	// KNNCopies is how many warped copies of each training normal the
	// reference holds besides the original (knn_augment_*, in its year);
	// the year windows count drawings, so they need KNNYearRefs*(1+KNNCopies) rows.
	KNNCopies int `json:"knn_reference_copies,omitempty"`
}

// Architecture describes every group's network.
type Architecture struct {
	Type       string  `json:"type"` // "autoencoder"
	Input      int     `json:"input"`
	Hidden     []int   `json:"hidden"`
	LayerSizes []int   `json:"layer_sizes"`
	Activation string  `json:"activation"` // "relu" after every layer but the last
	Dropout    float64 `json:"dropout"`    // training only
	Params     int     `json:"params_per_group"`
}

// ModelGroup is one age group's trained network.
type ModelGroup struct {
	AgeGroup
	NValidation int `json:"n_validation"`
	// Threshold is on the group's raw score (see Manifest.ScoreMethod); 0
	// when ThresholdSource is "none" (too few normals for an honest one).
	Threshold       float64     `json:"threshold"`
	ThresholdSource string      `json:"threshold_source"` // conformal-group, conformal-pooled, none (format 1: validation, training)
	Calibration     Calibration `json:"calibration"`
	AEScale         float64     `json:"ae_scale,omitempty"`  // median autoencoder error of the training normals
	KNNScale        float64     `json:"knn_scale,omitempty"` // median leave-one-out kNN distance of the training normals
	// The ensemble's reference rows (standardised training normals) follow
	// the networks in weights.bin: ReferenceRows × input float32 at ReferenceOffset.
	ReferenceOffset int64 `json:"reference_offset,omitempty"`
	ReferenceRows   int   `json:"reference_rows,omitempty"`
	// ReferenceYears (format 3) splits the reference rows, ordered by
	// floor(age), into runs of one year.
	ReferenceYears []RefYear `json:"reference_years,omitempty"`
	BestEpoch      int       `json:"best_epoch"`
	EpochsTrained  int       `json:"epochs_trained"`
	BestValLoss    float64   `json:"best_val_loss"`
	TrainedOnHost  string    `json:"trained_on_host"`
	WeightsOffset  int64     `json:"weights_offset"`
	WeightsCount   int       `json:"weights_count"`
}

// Model is a loaded model, ready to score.
type Model struct {
	Manifest Manifest
	nets     []*autoencoder.Net
	scorers  []*groupScorer // format 2
}

// writeModel writes model.json and weights.bin into dir. params[i] are the
// weights of man.Groups[i].
func writeModel(dir string, man Manifest, params [][]float32, refs []autoencoder.Matrix) error {
	var w bytes.Buffer
	for i := range man.Groups {
		man.Groups[i].WeightsOffset = int64(w.Len())
		man.Groups[i].WeightsCount = len(params[i])
		if err := binary.Write(&w, binary.LittleEndian, params[i]); err != nil {
			return err
		}
	}
	for i := range refs {
		if refs[i].Rows == 0 {
			continue
		}
		man.Groups[i].ReferenceOffset, man.Groups[i].ReferenceRows = int64(w.Len()), refs[i].Rows
		if err := binary.Write(&w, binary.LittleEndian, refs[i].Data); err != nil {
			return err
		}
	}
	sum := sha256.Sum256(w.Bytes())
	man.WeightsFile, man.WeightsSHA256 = WeightsFile, hex.EncodeToString(sum[:])
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, WeightsFile), w.Bytes()); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(mb, '\n'))
}

// LoadModel reads a model folder (model.json and weights.bin), as written by
// train, or as extracted from SageMaker's model.tar.gz.
func LoadModel(dir string) (*Model, error) {
	fix := "point --model at the folder holding model.json and weights.bin (extract model.tar.gz first)"
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, errs.Configuration("cannot read the model manifest "+filepath.Join(dir, ManifestFile), fix, err)
	}
	var man Manifest
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, errs.Configuration("model.json is not valid JSON", fix, err)
	}
	if man.Format != ModelFormat || man.FormatVersion < minFormatVersion || man.FormatVersion > FormatVersion {
		return nil, errs.Configuration(fmt.Sprintf("model.json is format %q version %d, this program reads %q version %d",
			man.Format, man.FormatVersion, ModelFormat, FormatVersion), "use the sagetrain version that trained the model", nil)
	}
	w, err := os.ReadFile(filepath.Join(dir, man.WeightsFile))
	if err != nil {
		return nil, errs.Configuration("cannot read the model weights", fix, err)
	}
	sum := sha256.Sum256(w)
	if hex.EncodeToString(sum[:]) != man.WeightsSHA256 {
		return nil, errs.Configuration("weights.bin does not match model.json's sha256 (truncated or from another model)", "copy the model folder again", nil)
	}
	a := man.Architecture
	if len(man.Normalization.Mean) != a.Input || len(man.Normalization.Std) != a.Input {
		return nil, errs.Configuration("model.json's normalization does not have one value per input feature", fix, nil)
	}
	if len(man.Groups) == 0 {
		return nil, errs.Configuration("model.json has no trained age group", "retrain with more data or a lower min_samples", nil)
	}
	m := &Model{Manifest: man}
	for _, g := range man.Groups {
		end := g.WeightsOffset + int64(g.WeightsCount)*4
		if g.WeightsOffset < 0 || end > int64(len(w)) {
			return nil, errs.Configuration("weights of group "+g.Name+" lie outside weights.bin", fix, nil)
		}
		p := make([]float32, g.WeightsCount)
		if err := binary.Read(bytes.NewReader(w[g.WeightsOffset:end]), binary.LittleEndian, p); err != nil {
			return nil, err
		}
		net, err := autoencoder.FromParams(a.Input, a.Hidden, 0, p)
		if err != nil {
			return nil, errs.Configuration("group "+g.Name+"'s weights do not fit the architecture", fix, err)
		}
		m.nets = append(m.nets, net)
		if man.FormatVersion < 2 {
			continue
		}
		sc := &groupScorer{net: net, method: man.ScoreMethod, k: man.KNNNeighbours, aeScale: g.AEScale, knnScale: g.KNNScale,
			w: knnWeights(man.Normalization, man.KNNBlocks), weight: man.KNNWeight}
		if sc.method == ScoreEnsemble {
			end := g.ReferenceOffset + int64(g.ReferenceRows)*int64(a.Input)*4
			if g.ReferenceRows <= 0 || g.ReferenceOffset < 0 || end > int64(len(w)) || !(g.KNNScale > 0) || !(g.AEScale > 0) || sc.k < 1 {
				return nil, errs.Configuration("group "+g.Name+"'s nearest-neighbour reference is missing or lies outside weights.bin", fix, nil)
			}
			if man.KNNYearRefs > 0 {
				if !validRefYears(g.ReferenceYears, g.ReferenceRows) {
					return nil, errs.Configuration("group "+g.Name+"'s reference_years do not split its reference rows into ascending years", fix, nil)
				}
				sc.years, sc.yearRefs = g.ReferenceYears, man.KNNYearRefs*(1+man.KNNCopies)
			}
			sc.ref = autoencoder.Matrix{Rows: g.ReferenceRows, Cols: a.Input, Data: make([]float32, g.ReferenceRows*a.Input)}
			if err := binary.Read(bytes.NewReader(w[g.ReferenceOffset:end]), binary.LittleEndian, sc.ref.Data); err != nil {
				return nil, err
			}
		} else if !(g.AEScale > 0) {
			return nil, errs.Configuration("group "+g.Name+" has no ae_scale", fix, nil)
		}
		m.scorers = append(m.scorers, sc)
	}
	return m, nil
}

// validRefYears reports whether ys are ascending years whose runs follow
// each other from row 0 and cover exactly rows rows.
func validRefYears(ys []RefYear, rows int) bool {
	next := 0
	for i, y := range ys {
		if y.Rows < 1 || y.Start != next || (i > 0 && y.Year <= ys[i-1].Year) {
			return false
		}
		next += y.Rows
	}
	return len(ys) > 0 && next == rows
}

// Score is the verdict on one drawing.
type Score struct {
	Image      string  `json:"image,omitempty"`
	AgeYears   float64 `json:"age_years"`
	Group      string  `json:"group"`
	GroupExact bool    `json:"group_exact"` // false: no group covers the age, the nearest was used
	Error      float64 `json:"reconstruction_error"`
	Threshold  float64 `json:"threshold"`
	Score      float64 `json:"score"` // Raw / Threshold (format 1: Error / Threshold): above 1 is anomalous
	Anomalous  bool    `json:"anomalous"`
	Verdict    string  `json:"verdict"` // "anomalous", "normal", or "undetermined" (no honest threshold)
	Note       string  `json:"note,omitempty"`
	// The ensemble's parts: the distance to the nearest training normals
	// and the combined raw score the threshold applies to.
	KNNDistance *float64 `json:"knn_distance,omitempty"`
	Raw         float64  `json:"raw_score,omitempty"`
	AEScale     float64  `json:"ae_scale,omitempty"` // the group's scales the parts are divided by
	KNNScale    float64  `json:"knn_scale,omitempty"`
	// What the threshold promises: its method, the expected share of normal
	// drawings flagged, its 90 % interval and the calibration count.
	ThresholdMethod     string     `json:"threshold_method"`
	ExpectedFPR         float64    `json:"expected_fpr,omitempty"`
	ExpectedFPRInterval [2]float64 `json:"expected_fpr_interval_90,omitempty"`
	NCalibration        int        `json:"n_calibration,omitempty"`
	// LargestFeature carries the largest share of the reconstruction error
	// (LargestFeatureShare, 0-1). Above 0.5 one feature decides the score:
	// look at the drawing before trusting the verdict.
	LargestFeature      string  `json:"largest_feature"`
	LargestFeatureShare float64 `json:"largest_feature_share"`
}

// ScoreVector scores one raw (not standardised) feature vector of a child of ageYears.
func (m *Model) ScoreVector(x []float32, ageYears float64) (Score, error) {
	a := m.Manifest.Architecture
	if len(x) != a.Input {
		return Score{}, errs.Configuration(fmt.Sprintf("vector has %d values, the model takes %d", len(x), a.Input),
			"build the vector with the same features the model was trained on", nil)
	}
	if math.IsNaN(ageYears) || ageYears <= 0 {
		return Score{}, errs.Configuration(fmt.Sprintf("age %g is not a valid age in years", ageYears), "give the child's age, e.g. --age 7.5", nil)
	}
	groups := make([]AgeGroup, len(m.Manifest.Groups))
	for i, g := range m.Manifest.Groups {
		groups[i] = g.AgeGroup
	}
	gi, exact := nearestGroup(groups, ageYears)
	g := m.Manifest.Groups[gi]
	z := make([]float32, len(x))
	m.Manifest.Normalization.apply(x, z)
	var s Score
	if m.scorers == nil { // format 1: the error against its percentile threshold
		e := m.nets[gi].Errors(z, 1)[0]
		s = Score{Error: e, Threshold: g.Threshold, Score: e / g.Threshold, ThresholdMethod: g.ThresholdSource}
	} else {
		ae, knn, raw := m.scorers[gi].raw(z, []float64{ageYears}, 1)
		s = Score{Error: ae[0], Raw: raw[0], AEScale: g.AEScale, KNNScale: g.KNNScale, Threshold: g.Threshold, ThresholdMethod: g.ThresholdSource,
			ExpectedFPR: g.Calibration.ExpectedFPR, ExpectedFPRInterval: g.Calibration.FPRInterval, NCalibration: g.Calibration.NCalibration}
		if !math.IsNaN(knn[0]) {
			s.KNNDistance = &knn[0]
		}
		if g.Threshold > 0 {
			s.Score = raw[0] / g.Threshold
		}
	}
	s.AgeYears, s.Group, s.GroupExact = ageYears, g.Name, exact
	j, share := largestFeature(m.nets[gi], z)
	s.LargestFeature, s.LargestFeatureShare = m.Manifest.Normalization.featureName(j), share
	switch {
	case !(g.Threshold > 0):
		s.Verdict, s.Note = "undetermined", g.Calibration.Note
	case s.Score > 1:
		s.Anomalous, s.Verdict = true, "anomalous"
	default:
		s.Verdict = "normal"
	}
	return s, nil
}

// ScoreImage describes an image file (as training did) and scores it.
func (m *Model) ScoreImage(path, subject string, ageYears float64) (Score, error) {
	if m.Manifest.Features.Kind != features.KindDescriptor {
		return Score{}, errs.Configuration("this model was trained on precomputed embeddings, not images",
			"compute the drawing's embedding the same way and score it with ScoreVector", nil)
	}
	if err := features.CurrentSettings().Compatible(m.Manifest.Features); err != nil {
		return Score{}, err
	}
	x, err := features.ImageFileVector(path, subject)
	if err != nil {
		return Score{}, err
	}
	s, err := m.ScoreVector(x, ageYears)
	s.Image = path
	return s, err
}
