package spec

import (
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/container"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// CheckpointLocalPath is where the trainer writes checkpoints in the container.
const CheckpointLocalPath = container.DefaultRoot + "/" + container.CheckpointDir

// CreateTrainingJobInput builds the SageMaker request for this spec, named
// remoteName, with channels mapping channel names ("training", "test", ...)
// to their data URIs: s3:// for SageMaker; the local backend also takes
// file://. The spec must be defaulted and valid.
func (s *Spec) CreateTrainingJobInput(remoteName string, channels map[string]string) (*sagemaker.CreateTrainingJobInput, error) {
	if _, ok := channels["training"]; !ok {
		return nil, errs.Configuration("no training channel for job "+remoteName, "give dataset_folder or input_data_s3_uri", nil)
	}
	in := &sagemaker.CreateTrainingJobInput{
		TrainingJobName: aws.String(remoteName),
		AlgorithmSpecification: &types.AlgorithmSpecification{
			TrainingInputMode: types.TrainingInputMode(s.InputMode),
		},
		OutputDataConfig: &types.OutputDataConfig{S3OutputPath: aws.String(s.OutputS3URI)},
		ResourceConfig: &types.ResourceConfig{
			InstanceType:   types.TrainingInstanceType(s.InstanceType),
			InstanceCount:  aws.Int32(s.InstanceCount),
			VolumeSizeInGB: aws.Int32(s.VolumeSizeGB),
		},
		StoppingCondition: &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(s.MaxRuntimeSeconds)},
	}
	if s.ImageURI != "" {
		in.AlgorithmSpecification.TrainingImage = aws.String(s.ImageURI)
	}
	for _, m := range s.MetricDefinitions {
		in.AlgorithmSpecification.MetricDefinitions = append(in.AlgorithmSpecification.MetricDefinitions,
			types.MetricDefinition{Name: aws.String(m.Name), Regex: aws.String(m.Regex)})
	}
	if s.RoleARN != "" {
		in.RoleArn = aws.String(s.RoleARN)
	}

	// Channels in a stable order, training first.
	names := make([]string, 0, len(channels))
	for n := range channels {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == "training") != (names[j] == "training") {
			return names[i] == "training"
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		if channels[n] == "" {
			return nil, errs.Configuration(fmt.Sprintf("channel %s has no data URI", n), "give the channel a folder or an s3:// URI", nil)
		}
		in.InputDataConfig = append(in.InputDataConfig, types.Channel{
			ChannelName: aws.String(n),
			InputMode:   types.TrainingInputMode(s.InputMode),
			DataSource: &types.DataSource{S3DataSource: &types.S3DataSource{
				S3DataType:             types.S3DataTypeS3Prefix,
				S3Uri:                  aws.String(channels[n]),
				S3DataDistributionType: types.S3DataDistributionFullyReplicated, // every host sees all data; the trainer divides age groups
			}},
		})
	}

	if s.OutputKMSKeyID != "" {
		in.OutputDataConfig.KmsKeyId = aws.String(s.OutputKMSKeyID)
	}
	if s.VolumeKMSKeyID != "" {
		in.ResourceConfig.VolumeKmsKeyId = aws.String(s.VolumeKMSKeyID)
	}
	if s.KeepAlivePeriodSeconds > 0 {
		in.ResourceConfig.KeepAlivePeriodInSeconds = aws.Int32(s.KeepAlivePeriodSeconds)
	}
	if len(s.Hyperparameters) > 0 {
		in.HyperParameters = copyMap(s.Hyperparameters)
	}
	if len(s.EnvironmentVariables) > 0 {
		in.Environment = copyMap(s.EnvironmentVariables)
	}
	for _, k := range sortedKeys(s.Tags) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
	if len(s.VPCSubnets) > 0 {
		in.VpcConfig = &types.VpcConfig{SecurityGroupIds: append([]string(nil), s.VPCSecurityGroupIDs...), Subnets: append([]string(nil), s.VPCSubnets...)}
	}
	if s.EnableNetworkIsolation {
		in.EnableNetworkIsolation = aws.Bool(true)
	}
	if s.UseSpotInstances {
		in.EnableManagedSpotTraining = aws.Bool(true)
		in.StoppingCondition.MaxWaitTimeInSeconds = aws.Int32(s.MaxWaitSeconds)
	}
	if s.CheckpointS3URI != "" {
		in.CheckpointConfig = &types.CheckpointConfig{S3Uri: aws.String(s.CheckpointS3URI), LocalPath: aws.String(CheckpointLocalPath)}
	}
	if s.ResumeFrom != "" && s.CheckpointS3URI == "" {
		// SageMaker downloads the checkpoint URI into LocalPath at start;
		// the local backend copies a file:// folder the same way.
		in.CheckpointConfig = &types.CheckpointConfig{S3Uri: aws.String(s.ResumeFrom), LocalPath: aws.String(CheckpointLocalPath)}
	}
	if s.RetryMaxAttempts > 0 {
		in.RetryStrategy = &types.RetryStrategy{MaximumRetryAttempts: aws.Int32(s.RetryMaxAttempts)}
	}
	return in, nil
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
