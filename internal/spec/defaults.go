package spec

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

// DefaultMetricDefinitions match the lines the trainer prints on stdout
// ("metric: NAME=VALUE", see docs/trainer.md). They are what SageMaker's
// metric definitions get when the spec has none.
var DefaultMetricDefinitions = []MetricDefinition{
	{Name: "train_loss", Regex: `train_loss=([0-9.eE+-]+)`},
	{Name: "val_loss", Regex: `val_loss=([0-9.eE+-]+)`},
	{Name: "test_auroc", Regex: `test_auroc=([0-9.eE+-]+)`},
	{Name: "test_average_precision", Regex: `test_average_precision=([0-9.eE+-]+)`},
}

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
