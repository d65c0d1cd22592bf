package sagemaker

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// ListRemote lists the account's training jobs created after since whose
// name contains contains (either may be zero), newest first, at most limit.
func (b *Backend) ListRemote(ctx context.Context, since time.Time, contains string, limit int) ([]backend.RemoteJob, error) {
	in := &sm.ListTrainingJobsInput{SortBy: types.SortByCreationTime, SortOrder: types.SortOrderDescending, MaxResults: aws.Int32(100)}
	if !since.IsZero() {
		in.CreationTimeAfter = aws.Time(since)
	}
	if contains = strings.TrimSpace(contains); contains != "" {
		in.NameContains = aws.String(contains)
	}
	var out []backend.RemoteJob
	p := sm.NewListTrainingJobsPaginator(b.sm, in)
	for p.HasMorePages() && len(out) < limit {
		var page *sm.ListTrainingJobsOutput
		err := b.call(ctx, func(ctx context.Context) (err error) {
			page, err = p.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, apiErr("list SageMaker training jobs", err)
		}
		for _, s := range page.TrainingJobSummaries {
			out = append(out, backend.RemoteJob{Name: aws.ToString(s.TrainingJobName), ARN: aws.ToString(s.TrainingJobArn),
				Status: string(s.TrainingJobStatus), CreatedAt: aws.ToTime(s.CreationTime).UTC()})
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// AttachSpec describes an existing training job and returns it as a spec
// (what sagetrain would have submitted to make it) and its ARN, so the job
// can be kept in the store like one sagetrain created.
func (b *Backend) AttachSpec(ctx context.Context, name string) (*spec.Spec, string, error) {
	var d *sm.DescribeTrainingJobOutput
	err := b.call(ctx, func(ctx context.Context) (err error) {
		d, err = b.sm.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String(name)})
		return err
	})
	if err != nil {
		if isNotFound(err) {
			return nil, "", errNotFound(name)
		}
		return nil, "", apiErr("describe SageMaker training job "+name, err)
	}
	sp := &spec.Spec{JobName: name, Backend: spec.BackendSageMaker, RoleARN: aws.ToString(d.RoleArn)}
	if a := d.AlgorithmSpecification; a != nil {
		sp.ImageURI = aws.ToString(a.TrainingImage)
		sp.InputMode = string(a.TrainingInputMode)
		for _, m := range a.MetricDefinitions {
			sp.MetricDefinitions = append(sp.MetricDefinitions, spec.MetricDefinition{Name: aws.ToString(m.Name), Regex: aws.ToString(m.Regex)})
		}
	}
	for _, ch := range d.InputDataConfig {
		if ch.DataSource == nil || ch.DataSource.S3DataSource == nil {
			continue
		}
		uri := aws.ToString(ch.DataSource.S3DataSource.S3Uri)
		if n := aws.ToString(ch.ChannelName); n == "training" {
			sp.InputDataS3URI = uri
		} else {
			if sp.Channels == nil {
				sp.Channels = map[string]string{}
			}
			sp.Channels[n] = uri
		}
	}
	if o := d.OutputDataConfig; o != nil {
		sp.OutputS3URI = aws.ToString(o.S3OutputPath)
	}
	if r := d.ResourceConfig; r != nil {
		sp.InstanceType = string(r.InstanceType)
		sp.InstanceCount = aws.ToInt32(r.InstanceCount)
		sp.VolumeSizeGB = aws.ToInt32(r.VolumeSizeInGB)
	}
	if s := d.StoppingCondition; s != nil {
		sp.MaxRuntimeSeconds = aws.ToInt32(s.MaxRuntimeInSeconds)
		sp.MaxWaitSeconds = aws.ToInt32(s.MaxWaitTimeInSeconds)
	}
	if len(d.HyperParameters) > 0 {
		sp.Hyperparameters = map[string]string{}
		for k, v := range d.HyperParameters {
			sp.Hyperparameters[k] = v
		}
	}
	if len(d.Environment) > 0 {
		sp.EnvironmentVariables = map[string]string{}
		for k, v := range d.Environment {
			sp.EnvironmentVariables[k] = v
		}
	}
	sp.UseSpotInstances = aws.ToBool(d.EnableManagedSpotTraining)
	if c := d.CheckpointConfig; c != nil {
		sp.CheckpointS3URI = aws.ToString(c.S3Uri)
	}
	return sp, aws.ToString(d.TrainingJobArn), nil
}
