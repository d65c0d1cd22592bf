package sagemaker

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagetrain/sagetrain/internal/backend"
	"github.com/sagetrain/sagetrain/internal/errs"
)

// CreateTuner creates a hyperparameter tuning job; one that already exists
// under the name (a retried create) is fine.
func (b *Backend) CreateTuner(ctx context.Context, in *sm.CreateHyperParameterTuningJobInput) error {
	err := b.call(ctx, func(ctx context.Context) error {
		_, err := b.sm.CreateHyperParameterTuningJob(ctx, in)
		return err
	})
	var inUse *types.ResourceInUse
	if err == nil || errors.As(err, &inUse) {
		return nil
	}
	return apiErr("create SageMaker tuning job "+aws.ToString(in.HyperParameterTuningJobName), err)
}

// DescribeTuner returns a tuning job's status and failure reason.
func (b *Backend) DescribeTuner(ctx context.Context, name string) (status, failure string, err error) {
	var out *sm.DescribeHyperParameterTuningJobOutput
	err = b.call(ctx, func(ctx context.Context) (err error) {
		out, err = b.sm.DescribeHyperParameterTuningJob(ctx, &sm.DescribeHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String(name)})
		return err
	})
	if err != nil {
		var nf *types.ResourceNotFound
		if errors.As(err, &nf) {
			return "", "", errs.NotFound("SageMaker tuning job " + name)
		}
		return "", "", apiErr("describe SageMaker tuning job "+name, err)
	}
	return string(out.HyperParameterTuningJobStatus), aws.ToString(out.FailureReason), nil
}

// TunerJobs lists a tuning job's training jobs with their tuned values.
func (b *Backend) TunerJobs(ctx context.Context, name string) ([]backend.TunerJob, error) {
	var jobs []backend.TunerJob
	p := sm.NewListTrainingJobsForHyperParameterTuningJobPaginator(b.sm, &sm.ListTrainingJobsForHyperParameterTuningJobInput{
		HyperParameterTuningJobName: aws.String(name), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		var page *sm.ListTrainingJobsForHyperParameterTuningJobOutput
		err := b.call(ctx, func(ctx context.Context) (err error) {
			page, err = p.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, apiErr("list the training jobs of SageMaker tuning job "+name, err)
		}
		for _, s := range page.TrainingJobSummaries {
			j := backend.TunerJob{Name: aws.ToString(s.TrainingJobName), Status: string(s.TrainingJobStatus), Params: s.TunedHyperParameters}
			if m := s.FinalHyperParameterTuningJobObjectiveMetric; m != nil {
				v := float64(aws.ToFloat32(m.Value))
				j.Objective = &v
			}
			jobs = append(jobs, j)
		}
	}
	return jobs, nil
}

// StopTuner stops a tuning job and its training jobs.
func (b *Backend) StopTuner(ctx context.Context, name string) error {
	err := b.call(ctx, func(ctx context.Context) error {
		_, err := b.sm.StopHyperParameterTuningJob(ctx, &sm.StopHyperParameterTuningJobInput{HyperParameterTuningJobName: aws.String(name)})
		return err
	})
	if err == nil {
		return nil
	}
	return apiErr("stop SageMaker tuning job "+name, err)
}
