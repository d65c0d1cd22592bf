package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sagetrain/sagetrain/internal/atomicfile"
	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/trainer/features"
)

// DefaultMLRoot is SageMaker's container root; EnvMLRoot overrides it. The
// names are the container package's, kept here for the trainer's callers.
const (
	DefaultMLRoot       = container.DefaultRoot
	EnvMLRoot           = container.EnvRoot
	EnvHostAddresses    = container.EnvHostAddresses
	DefaultExchangePort = container.DefaultExchangePort
)

// Layout is the container contract's folder layout under one root.
type Layout struct{ Root string }

func (l Layout) path(p ...string) string { return container.Path(l.Root, p...) }

// ConfigDir holds hyperparameters.json, inputdataconfig.json and resourceconfig.json.
func (l Layout) ConfigDir() string { return l.path(container.ConfigDir) }

// ChannelDir is input/data/<channel>.
func (l Layout) ChannelDir(channel string) string { return l.path(container.DataDir, channel) }

// ModelDir is what SageMaker packs into model.tar.gz.
func (l Layout) ModelDir() string { return l.path(container.ModelDir) }

// OutputDataDir is what SageMaker packs into output.tar.gz.
func (l Layout) OutputDataDir() string { return l.path(container.OutputDataDir) }

// FailureFile holds the reason of a failed job.
func (l Layout) FailureFile() string { return l.path(container.FailureFile) }

// CheckpointDir is synced to the job's checkpoint S3 URI.
func (l Layout) CheckpointDir() string { return l.path(container.CheckpointDir) }

// ResourceConfig is resourceconfig.json.
type ResourceConfig struct {
	CurrentHost string   `json:"current_host"`
	Hosts       []string `json:"hosts"`
}

// readResourceConfig reads resourceconfig.json; absent, the job is one host "algo-1".
func readResourceConfig(l Layout) (ResourceConfig, error) {
	rc := ResourceConfig{}
	b, err := os.ReadFile(filepath.Join(l.ConfigDir(), container.ResourceConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ResourceConfig{CurrentHost: "algo-1", Hosts: []string{"algo-1"}}, nil
	}
	if err != nil {
		return rc, errs.Configuration("cannot read resourceconfig.json", "check the permissions of "+l.ConfigDir(), err)
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, errs.Configuration("resourceconfig.json is not valid JSON", `write {"current_host":"algo-1","hosts":["algo-1"]}`, err)
	}
	if len(rc.Hosts) == 0 {
		rc.Hosts = []string{rc.CurrentHost}
	}
	if rc.CurrentHost == "" {
		return rc, errs.Configuration("resourceconfig.json has no current_host", "set current_host to one of hosts", nil)
	}
	hosts := append([]string(nil), rc.Hosts...)
	sort.Strings(hosts)
	found := false
	for i, h := range hosts {
		if strings.TrimSpace(h) == "" {
			// An empty name would make this host wait forever for a peer
			// that does not exist.
			return rc, errs.Configuration(fmt.Sprintf("resourceconfig.json lists an empty host name in %q", rc.Hosts), "list every host by name (algo-1, algo-2, ...)", nil)
		}
		if i > 0 && h == hosts[i-1] {
			return rc, errs.Configuration("resourceconfig.json lists host "+h+" twice", "list each host once", nil)
		}
		found = found || h == rc.CurrentHost
	}
	if !found {
		return rc, errs.Configuration(fmt.Sprintf("current_host %q is not in hosts %v", rc.CurrentHost, rc.Hosts), "set current_host to one of hosts", nil)
	}
	rc.Hosts = hosts
	return rc, nil
}

// readInputDataConfig returns the channel names declared in
// inputdataconfig.json (nil when the file is absent: channels are then the
// folders present under input/data).
func readInputDataConfig(l Layout) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join(l.ConfigDir(), container.InputDataConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Configuration("cannot read inputdataconfig.json", "check the permissions of "+l.ConfigDir(), err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errs.Configuration("inputdataconfig.json is not valid JSON", `write {"training":{"ContentType":"application/x-image"}}`, err)
	}
	return m, nil
}

// Params are the hyperparameters, with the original system's defaults.
// Their names in hyperparameters.json are the json tags.
type Params struct {
	MinSamples          int     `json:"min_samples"`
	MaxGroupSpanYears   int     `json:"max_group_span_years"`
	HiddenSizes         []int   `json:"hidden_sizes"`
	Dropout             float64 `json:"dropout"`
	LearningRate        float64 `json:"learning_rate"`
	BatchSize           int     `json:"batch_size"`
	Epochs              int     `json:"epochs"`
	EarlyStopping       int     `json:"early_stopping_patience"`
	MinDelta            float64 `json:"min_delta"`
	LRPatience          int     `json:"lr_patience"`
	LRFactor            float64 `json:"lr_factor"`
	GradClip            float64 `json:"grad_clip"`
	ThresholdPercentile float64 `json:"threshold_percentile"`
	ValidationSplit     float64 `json:"validation_split"`
	TestSplit           float64 `json:"test_split"`
	Seed                int64   `json:"seed"`
	Workers             int     `json:"workers"`
	CheckpointSeconds   float64 `json:"checkpoint_interval_seconds"`
	ExchangeTimeout     float64 `json:"host_exchange_timeout_seconds"`
	LossPlots           bool    `json:"loss_plots"`
	// Standardisation (issue 19): see standardise.go.
	Standardization  string  `json:"standardization"`
	StdFloorFraction float64 `json:"std_floor_fraction"`
	ZClip            float64 `json:"z_clip"`
	// Scoring and thresholds (issues 15 and 18): see calibrate.go.
	ScoreMethod    string  `json:"score_method"`
	KNNNeighbours  int     `json:"knn_k"`
	KNNWeight      float64 `json:"knn_weight"`
	MinCalibration int     `json:"min_calibration"`
	// KNNYearRefs > 0: the kNN part compares a drawing with the group's
	// training normals of its own year of age, widened a year each way
	// until there are this many (issue 18); 0: the whole group.
	KNNYearRefs int `json:"knn_year_refs"`
	// KNNAugmentRotations and KNNAugmentScales (issue 15): each value adds
	// one copy of every normal training drawing, turned by that many degrees
	// or scaled by that factor (features.Warp), to the kNN reference; the
	// thresholds' validation normals and the kNN scale see the originals
	// only, the autoencoder one full copy per drawing (AEAugment).
	KNNAugmentRotations []float64 `json:"knn_augment_rotations"`
	KNNAugmentScales    []float64 `json:"knn_augment_scales"`
	// AEAugment is the probability that the autoencoder trains, in an
	// epoch, on one of a drawing's knn_augment copies in its place
	// (autoencoder.Augment); 0: the originals only.
	AEAugment float64 `json:"ae_augment"`
}

// DefaultParams returns the defaults.
func DefaultParams() Params {
	return Params{
		MinSamples: 50, MaxGroupSpanYears: 4, HiddenSizes: []int{256, 128, 64, 32}, Dropout: 0.1,
		LearningRate: 0.001, BatchSize: 32, Epochs: 30, EarlyStopping: 10, MinDelta: 1e-4,
		LRPatience: 5, LRFactor: 0.5, GradClip: 1.0, ThresholdPercentile: 95,
		ValidationSplit: 0.15, TestSplit: 0.15, Seed: 42, Workers: 0,
		CheckpointSeconds: 30, ExchangeTimeout: 3600, LossPlots: true,
		Standardization: StandardiseRobust, StdFloorFraction: 0.1, ZClip: 8,
		ScoreMethod: ScoreEnsemble, KNNNeighbours: 5, KNNWeight: 0.97, MinCalibration: 50, KNNYearRefs: 20,
		KNNAugmentRotations: []float64{-10, -5, 5, 10}, KNNAugmentScales: []float64{1.1}, AEAugment: 0.8,
	}
}

// ParseHyperparameters applies hyperparameters.json's string values over the
// defaults. Keys SageMaker or its SDK add (sagemaker_*, _tuning_objective_metric)
// are ignored; any other unknown key is an error, so a typo does not go unnoticed.
func ParseHyperparameters(raw map[string]any) (Params, error) {
	p := DefaultParams()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := hpString(raw[k])
		bad := func(want string, err error) error {
			return errs.Configuration(fmt.Sprintf("hyperparameter %s=%q is not %s", k, v, want),
				"fix it in the job spec's hyperparameters (values are strings, e.g. \"0.001\")", err)
		}
		var err error
		switch k {
		case "min_samples":
			p.MinSamples, err = hpInt(v, 1)
		case "max_group_span_years":
			p.MaxGroupSpanYears, err = hpInt(v, 1)
		case "hidden_sizes":
			p.HiddenSizes = nil
			for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' }) {
				var h int
				if h, err = hpInt(f, 1); err != nil {
					break
				}
				p.HiddenSizes = append(p.HiddenSizes, h)
			}
			if err == nil && len(p.HiddenSizes) == 0 {
				err = errors.New("empty list")
			}
			if err != nil {
				return p, bad("a comma-separated list of positive sizes such as \"256,128,64,32\"", err)
			}
			continue
		case "dropout":
			p.Dropout, err = hpFloat(v, 0, 0.95)
		case "learning_rate":
			p.LearningRate, err = hpFloat(v, 1e-12, 10)
		case "batch_size":
			p.BatchSize, err = hpInt(v, 1)
		case "epochs":
			p.Epochs, err = hpInt(v, 1)
		case "early_stopping_patience":
			p.EarlyStopping, err = hpInt(v, 0)
		case "min_delta":
			p.MinDelta, err = hpFloat(v, 0, 1e9)
		case "lr_patience":
			p.LRPatience, err = hpInt(v, 0)
		case "lr_factor":
			p.LRFactor, err = hpFloat(v, 1e-6, 1)
		case "grad_clip":
			p.GradClip, err = hpFloat(v, 0, 1e9)
		case "threshold_percentile":
			p.ThresholdPercentile, err = hpFloat(v, 50, 100)
		case "validation_split":
			p.ValidationSplit, err = hpFloat(v, 0, 0.5)
		case "test_split":
			p.TestSplit, err = hpFloat(v, 0, 0.5)
		case "seed":
			p.Seed, err = strconv.ParseInt(v, 10, 64)
		case "workers":
			p.Workers, err = hpInt(v, 0)
		case "checkpoint_interval_seconds":
			p.CheckpointSeconds, err = hpFloat(v, 0, 1e9)
		case "host_exchange_timeout_seconds":
			p.ExchangeTimeout, err = hpFloat(v, 1, 1e9)
		case "loss_plots":
			p.LossPlots, err = strconv.ParseBool(v)
		case "standardization":
			p.Standardization = v
			if v != StandardiseRobust && v != StandardiseStd {
				err = errors.New("must be robust or std")
			}
		case "std_floor_fraction":
			p.StdFloorFraction, err = hpFloat(v, 0, 10)
		case "z_clip":
			p.ZClip, err = hpFloat(v, 0, 1e9)
		case "score_method":
			p.ScoreMethod = v
			if v != ScoreEnsemble && v != ScoreAutoencoder {
				err = errors.New("must be ensemble or autoencoder")
			}
		case "knn_weight":
			p.KNNWeight, err = hpFloat(v, 0, 1)
		case "knn_k":
			p.KNNNeighbours, err = hpInt(v, 1)
		case "min_calibration":
			p.MinCalibration, err = hpInt(v, 1)
		case "knn_year_refs":
			p.KNNYearRefs, err = hpInt(v, 0)
		case "knn_augment_rotations":
			p.KNNAugmentRotations, err = hpFloats(v, -45, 45)
		case "knn_augment_scales":
			p.KNNAugmentScales, err = hpFloats(v, 0.5, 2)
		case "ae_augment":
			p.AEAugment, err = hpFloat(v, 0, 1)
		default:
			if strings.HasPrefix(k, "sagemaker_") || strings.HasPrefix(k, "_") {
				continue
			}
			return p, errs.Configuration("unknown hyperparameter "+k,
				"remove it or use one of the names in docs/trainer.md (min_samples, hidden_sizes, learning_rate, epochs, ...)", nil)
		}
		if err != nil {
			return p, bad("valid for "+k+" (see docs/trainer.md)", err)
		}
	}
	return p, nil
}

// hpString turns a hyperparameter value into its string. SageMaker passes
// strings; some SDKs JSON-encode them once more ("\"0.1\""), which is undone.
func hpString(v any) string {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case nil:
		s = ""
	default:
		b, _ := json.Marshal(t)
		s = string(b)
	}
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	return s
}

func hpInt(s string, lo int) (int, error) {
	n, err := strconv.Atoi(s)
	if err == nil && n < lo {
		err = fmt.Errorf("must be at least %d", lo)
	}
	return n, err
}

// hpFloats parses a comma- or space-separated list (brackets allowed, empty:
// none) of values in [lo, hi].
func hpFloats(s string, lo, hi float64) ([]float64, error) {
	out := []float64{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '[' || r == ']' }) {
		v, err := hpFloat(f, lo, hi)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Warps returns the kNN reference copies of KNNAugmentRotations and
// KNNAugmentScales, rotations first.
func (p Params) Warps() []features.Warp {
	var out []features.Warp
	for _, r := range p.KNNAugmentRotations {
		out = append(out, features.Warp{Rotate: r, Scale: 1})
	}
	for _, s := range p.KNNAugmentScales {
		out = append(out, features.Warp{Scale: s})
	}
	return out
}

func hpFloat(s string, lo, hi float64) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err == nil && (f < lo || f > hi || f != f) {
		err = fmt.Errorf("must be between %g and %g", lo, hi)
	}
	return f, err
}

// readHyperparameters reads hyperparameters.json (absent: all defaults).
func readHyperparameters(l Layout) (Params, error) {
	b, err := os.ReadFile(filepath.Join(l.ConfigDir(), container.HyperparametersFile))
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultParams(), nil
	}
	if err != nil {
		return Params{}, errs.Configuration("cannot read hyperparameters.json", "check the permissions of "+l.ConfigDir(), err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return Params{}, errs.Configuration("hyperparameters.json is not a JSON object", `write e.g. {"epochs":"50","learning_rate":"0.001"}`, err)
	}
	return ParseHyperparameters(raw)
}

// writeFileAtomic writes via a temporary file and a rename, so a crash or a
// SIGKILL never leaves half a file behind.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}
