package sagemakeremu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// client talks to the emulator through the real SDK, without retries, so
// every fault is visible. Seeded jobs never touch S3 or CloudWatch Logs.
func client(t *testing.T) (*Server, *sm.Client) {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	s := Start(t, cfg, Options{Trainer: []string{"/bin/false"}})
	c := sm.NewFromConfig(cfg, func(o *sm.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
	})
	return s, c
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestListPagingAndFilters(t *testing.T) {
	s, c := client(t)
	ctx := context.Background()
	for i := range 25 {
		s.Seed(fmt.Sprintf("job-%02d", i))
	}
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(20 * time.Millisecond)
	if err := s.SetStatus("job-07", "Completed", "Completed"); err != nil {
		t.Fatal(err)
	}
	var names []string
	p := sm.NewListTrainingJobsPaginator(c, &sm.ListTrainingJobsInput{MaxResults: aws.Int32(10), SortBy: types.SortByName, SortOrder: types.SortOrderAscending})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range page.TrainingJobSummaries {
			names = append(names, aws.ToString(j.TrainingJobName))
		}
	}
	if pages != 3 || len(names) != 25 || names[0] != "job-00" || names[24] != "job-24" {
		t.Fatalf("%d pages, names %v", pages, names)
	}
	out, err := c.ListTrainingJobs(ctx, &sm.ListTrainingJobsInput{LastModifiedTimeAfter: aws.Time(cut)})
	if err != nil || len(out.TrainingJobSummaries) != 1 || aws.ToString(out.TrainingJobSummaries[0].TrainingJobName) != "job-07" ||
		out.TrainingJobSummaries[0].TrainingJobStatus != types.TrainingJobStatusCompleted {
		t.Fatalf("modified after: %+v %v", out, err)
	}
	out, err = c.ListTrainingJobs(ctx, &sm.ListTrainingJobsInput{NameContains: aws.String("JOB-1"), StatusEquals: types.TrainingJobStatusInProgress, MaxResults: aws.Int32(100)})
	if err != nil || len(out.TrainingJobSummaries) != 10 {
		t.Fatalf("name contains + status: %d %v", len(out.TrainingJobSummaries), err)
	}
	d, err := c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("job-07")})
	if err != nil || d.TrainingJobStatus != types.TrainingJobStatusCompleted || len(d.SecondaryStatusTransitions) != 2 || d.TrainingEndTime == nil {
		t.Fatalf("describe: %+v %v", d, err)
	}
}

func TestFaultsAndErrors(t *testing.T) {
	s, c := client(t)
	ctx := context.Background()
	s.Seed("j")
	s.InjectThrottling(1)
	s.InjectInternalErrors(1)
	_, err := c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("j")})
	if code(err) != "ThrottlingException" {
		t.Fatalf("want throttling, got %v", err)
	}
	_, err = c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("j")})
	if code(err) != "InternalFailure" || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want 500 InternalFailure, got %v", err)
	}
	if _, err = c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("j")}); err != nil {
		t.Fatalf("after the faults: %v", err)
	}
	if s.FaultsServed() != 2 || s.Calls()["DescribeTrainingJob"] != 3 {
		t.Fatalf("counters: %d %v", s.FaultsServed(), s.Calls())
	}
	_, err = c.DescribeTrainingJob(ctx, &sm.DescribeTrainingJobInput{TrainingJobName: aws.String("nope")})
	if code(err) != "ValidationException" || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown job: %v", err)
	}
	// Stop: Stopping then Stopped; stopping again is refused like SageMaker does.
	if _, err := c.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("j")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	_, err = c.StopTrainingJob(ctx, &sm.StopTrainingJobInput{TrainingJobName: aws.String("j")})
	if code(err) != "ValidationException" || !strings.Contains(err.Error(), "Stopped") {
		t.Fatalf("stop of a stopped job: %v", err)
	}
	_, err = c.CreateTrainingJob(ctx, &sm.CreateTrainingJobInput{
		TrainingJobName:        aws.String("bad_name"),
		RoleArn:                aws.String("arn:aws:iam::123456789012:role/r"),
		AlgorithmSpecification: &types.AlgorithmSpecification{TrainingInputMode: types.TrainingInputModeFile},
		OutputDataConfig:       &types.OutputDataConfig{S3OutputPath: aws.String("s3://b/o")},
		ResourceConfig:         &types.ResourceConfig{InstanceCount: aws.Int32(1), InstanceType: types.TrainingInstanceTypeMlM5Xlarge, VolumeSizeInGB: aws.Int32(1)},
		StoppingCondition:      &types.StoppingCondition{MaxRuntimeInSeconds: aws.Int32(60)},
	})
	if code(err) != "ValidationException" {
		t.Fatalf("bad name: %v", err)
	}
}
