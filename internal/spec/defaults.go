package spec

import "github.com/sagetrain/sagetrain/internal/trainer"

// Defaults, the original service's where it had one.
const (
	BackendLocal     = "local"
	BackendSageMaker = "sagemaker"

	DefaultInstanceType      = "ml.m5.xlarge" // SageMaker jobs
	LocalInstanceType        = "local"        // what the SageMaker Python SDK calls local mode
	DefaultInstanceCount     = 1
	DefaultVolumeSizeGB      = 30
	DefaultMaxRuntimeSeconds = 24 * 60 * 60
	DefaultMetadataFile      = "metadata.csv"
	DefaultInputMode         = "File"
)

// DefaultMetricDefinitions are the trainer's own (trainer.MetricDefinitions):
// they match the lines it prints on stdout ("epoch=N group=G train_loss=X
// val_loss=Y" and "metric: NAME=VALUE", see docs/trainer.md). A spec
// without metric_definitions gets them.
var DefaultMetricDefinitions = func() []MetricDefinition {
	var out []MetricDefinition
	for _, m := range trainer.MetricDefinitions() {
		out = append(out, MetricDefinition{Name: m.Name, Regex: m.Regex})
	}
	return out
}()

// ApplyDefaults fills every field the user left empty. It never overwrites
// a value that was given.
func (s *Spec) ApplyDefaults() {
	if s.Backend == "" {
		s.Backend = BackendLocal
	}
	if s.InstanceType == "" {
		if s.Backend == BackendLocal {
			s.InstanceType = LocalInstanceType
		} else {
			s.InstanceType = DefaultInstanceType
		}
	}
	if s.InstanceCount == 0 {
		s.InstanceCount = DefaultInstanceCount
	}
	if s.VolumeSizeGB == 0 {
		s.VolumeSizeGB = DefaultVolumeSizeGB
	}
	if s.MaxRuntimeSeconds == 0 {
		s.MaxRuntimeSeconds = DefaultMaxRuntimeSeconds
	}
	if s.DatasetFolder != "" && s.MetadataFile == "" {
		s.MetadataFile = DefaultMetadataFile
	}
	if s.InputMode == "" {
		s.InputMode = DefaultInputMode
	}
	if len(s.MetricDefinitions) == 0 {
		s.MetricDefinitions = append([]MetricDefinition(nil), DefaultMetricDefinitions...)
	}
	if s.UseSpotInstances && s.MaxWaitSeconds == 0 {
		s.MaxWaitSeconds = 2 * s.MaxRuntimeSeconds
	}
}
