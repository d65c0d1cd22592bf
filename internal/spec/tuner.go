package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Tuning describes a SageMaker hyperparameter tuning job over a spec: the
// hyperparameters tuned (values for categorical ones, ranges for numeric
// ones), the objective (one of the spec's metric definitions) and limits.
type Tuning struct {
	Categorical map[string][]string // hyperparameter -> values
	Continuous  []TuningRange
	Integer     []TuningRange
	Metric      string // a metric definition's name
	Maximize    bool
	Strategy    string // "Bayesian", "Random" or "Grid"
	MaxJobs     int32  // ignored for Grid (SageMaker runs every combination)
	MaxParallel int32
}

// TuningRange is a numeric hyperparameter range.
type TuningRange struct {
	Name    string
	Lo, Hi  float64
	Log     bool
	Integer bool
}

// tunerNamePattern is SageMaker's HyperParameterTuningJobName: at most 32 characters.
var tunerNamePattern = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$`)

// MaxTunerEnvironment is SageMaker's limit on a tuning job's environment variables.
const MaxTunerEnvironment = 48

// MaxTunerNameLength is SageMaker's limit on HyperParameterTuningJobName.
const MaxTunerNameLength = 32

// TunerName derives a tuning job name (at most 32 characters) from a
// sweep name and a suffix, like RemoteName.
func TunerName(name, suffix string) string {
	base := RemoteName(name, "")
	max := MaxTunerNameLength - len(suffix) - 1
	if len(base) > max {
		base = strings.TrimRight(base[:max], "-")
	}
	return base + "-" + suffix
}

// CreateHyperParameterTuningJobInput builds the tuning request: the
// training job definition is this spec's CreateTrainingJob request (with
// the tuned hyperparameters left out of the static ones). The spec must be
// defaulted and valid, and run on SageMaker.
func (s *Spec) CreateHyperParameterTuningJobInput(name string, channels map[string]string, tn Tuning) (*sagemaker.CreateHyperParameterTuningJobInput, error) {
	if !tunerNamePattern.MatchString(name) {
		return nil, errs.Configuration(fmt.Sprintf("tuning job name %q is not valid", name), "use 1-32 letters, digits and dashes (TunerName makes one)", nil)
	}
	if tn.Metric == "" {
		return nil, errs.Configuration("the tuning job has no objective metric", "name one of the spec's metric definitions", nil)
	}
	found := false
	for _, m := range s.MetricDefinitions {
		found = found || m.Name == tn.Metric
	}
	if !found {
		return nil, errs.Configuration(fmt.Sprintf("objective metric %q is not one of the spec's metric definitions", tn.Metric),
			"SageMaker tunes on metric definitions: use one the trainer prints (test_auroc, val_loss, ...) or add a metric definition for it", nil)
	}
	if len(s.EnvironmentVariables) > MaxTunerEnvironment {
		return nil, errs.Configuration(fmt.Sprintf("the spec has %d environment_variables; a tuning job takes at most %d", len(s.EnvironmentVariables), MaxTunerEnvironment),
			"drop some, or sweep with sagetrain's own scheduler (no --engine)", nil)
	}
	in, err := s.CreateTrainingJobInput(name, channels)
	if err != nil {
		return nil, err
	}
	tuned := map[string]bool{}
	ranges := &types.ParameterRanges{}
	keys := make([]string, 0, len(tn.Categorical))
	for k := range tn.Categorical {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ranges.CategoricalParameterRanges = append(ranges.CategoricalParameterRanges, types.CategoricalParameterRange{Name: aws.String(k), Values: tn.Categorical[k]})
		tuned[k] = true
	}
	for _, r := range append(append([]TuningRange(nil), tn.Continuous...), tn.Integer...) {
		scale := types.HyperParameterScalingTypeLinear
		if r.Log {
			scale = types.HyperParameterScalingTypeLogarithmic
		}
		lo, hi := strconv.FormatFloat(r.Lo, 'g', -1, 64), strconv.FormatFloat(r.Hi, 'g', -1, 64)
		if r.Integer {
			ranges.IntegerParameterRanges = append(ranges.IntegerParameterRanges, types.IntegerParameterRange{Name: aws.String(r.Name), MinValue: aws.String(lo), MaxValue: aws.String(hi), ScalingType: scale})
		} else {
			ranges.ContinuousParameterRanges = append(ranges.ContinuousParameterRanges, types.ContinuousParameterRange{Name: aws.String(r.Name), MinValue: aws.String(lo), MaxValue: aws.String(hi), ScalingType: scale})
		}
		tuned[r.Name] = true
	}
	if len(tuned) == 0 {
		return nil, errs.Configuration("the tuning job tunes no hyperparameter", "sweep hyperparameters.NAME keys", nil)
	}
	static := map[string]string{}
	for k, v := range in.HyperParameters {
		if !tuned[k] {
			static[k] = v
		}
	}
	objType := types.HyperParameterTuningJobObjectiveTypeMinimize
	if tn.Maximize {
		objType = types.HyperParameterTuningJobObjectiveTypeMaximize
	}
	strategy := types.HyperParameterTuningJobStrategyType(tn.Strategy)
	if strategy == "" {
		strategy = types.HyperParameterTuningJobStrategyTypeBayesian
	}
	limits := &types.ResourceLimits{MaxParallelTrainingJobs: aws.Int32(max(tn.MaxParallel, 1))}
	if strategy != types.HyperParameterTuningJobStrategyTypeGrid {
		limits.MaxNumberOfTrainingJobs = aws.Int32(max(tn.MaxJobs, 1))
	}
	def := &types.HyperParameterTrainingJobDefinition{
		AlgorithmSpecification: &types.HyperParameterAlgorithmSpecification{
			TrainingImage:     in.AlgorithmSpecification.TrainingImage,
			TrainingInputMode: in.AlgorithmSpecification.TrainingInputMode,
			MetricDefinitions: in.AlgorithmSpecification.MetricDefinitions,
		},
		RoleArn:                   in.RoleArn,
		InputDataConfig:           in.InputDataConfig,
		OutputDataConfig:          in.OutputDataConfig,
		ResourceConfig:            in.ResourceConfig,
		StoppingCondition:         in.StoppingCondition,
		VpcConfig:                 in.VpcConfig,
		EnableNetworkIsolation:    in.EnableNetworkIsolation,
		EnableManagedSpotTraining: in.EnableManagedSpotTraining,
		CheckpointConfig:          in.CheckpointConfig,
		RetryStrategy:             in.RetryStrategy,
		Environment:               in.Environment,
	}
	if len(static) > 0 {
		def.StaticHyperParameters = static
	}
	return &sagemaker.CreateHyperParameterTuningJobInput{
		HyperParameterTuningJobName: aws.String(name),
		HyperParameterTuningJobConfig: &types.HyperParameterTuningJobConfig{
			Strategy:                         strategy,
			HyperParameterTuningJobObjective: &types.HyperParameterTuningJobObjective{Type: objType, MetricName: aws.String(tn.Metric)},
			ResourceLimits:                   limits,
			ParameterRanges:                  ranges,
		},
		TrainingJobDefinition: def,
		Tags:                  in.Tags,
	}, nil
}
