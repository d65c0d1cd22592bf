package sagemakeremu

import (
	"math"
	"time"
)

// epoch is a timestamp as SageMaker's JSON 1.1 protocol writes it: seconds
// since the epoch, with a fraction.
type epoch float64

func toEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(float64(t.UnixMilli()) / 1000)
	return &e
}

func (e *epoch) time() time.Time {
	if e == nil {
		return time.Time{}
	}
	sec, frac := math.Modf(float64(*e))
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// createRequest holds the members of CreateTrainingJob the emulator acts on;
// the raw request is also kept to echo in DescribeTrainingJob.
type createRequest struct {
	TrainingJobName        string
	RoleArn                string
	AlgorithmSpecification *struct {
		TrainingImage     string
		TrainingInputMode string
		MetricDefinitions []struct{ Name, Regex string }
	}
	InputDataConfig []struct {
		ChannelName string
		InputMode   string
		ContentType string
		DataSource  struct {
			S3DataSource *struct {
				S3Uri                  string
				S3DataType             string
				S3DataDistributionType string
			}
		}
	}
	OutputDataConfig *struct{ S3OutputPath string }
	ResourceConfig   *struct {
		InstanceType   string
		InstanceCount  int
		VolumeSizeInGB int
	}
	StoppingCondition *struct {
		MaxRuntimeInSeconds  int
		MaxWaitTimeInSeconds int
	}
	HyperParameters  map[string]string
	Environment      map[string]string
	CheckpointConfig *struct{ S3Uri, LocalPath string }
}

type transition struct {
	Status        string
	StartTime     *epoch
	EndTime       *epoch `json:",omitempty"`
	StatusMessage string `json:",omitempty"`
}

type metricDatum struct {
	MetricName string
	Value      float64
	Timestamp  *epoch
}

type listRequest struct {
	NextToken              string
	MaxResults             int
	NameContains           string
	StatusEquals           string
	LastModifiedTimeAfter  *epoch
	LastModifiedTimeBefore *epoch
	CreationTimeAfter      *epoch
	CreationTimeBefore     *epoch
	SortBy                 string
	SortOrder              string
}

type summary struct {
	TrainingJobName   string
	TrainingJobArn    string
	TrainingJobStatus string
	SecondaryStatus   string `json:",omitempty"`
	CreationTime      *epoch
	LastModifiedTime  *epoch
	TrainingEndTime   *epoch `json:",omitempty"`
}

type listResponse struct {
	TrainingJobSummaries []summary
	NextToken            string `json:",omitempty"`
}

// echoed are the CreateTrainingJob members DescribeTrainingJob returns as given.
var echoed = []string{
	"AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig", "ResourceConfig",
	"VpcConfig", "StoppingCondition", "HyperParameters", "Environment", "EnableNetworkIsolation",
	"EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "CheckpointConfig",
	"RetryStrategy", "DebugHookConfig", "ExperimentConfig", "TensorBoardOutputConfig",
}
