package spec_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sagetrain/sagetrain/internal/spec"
)

// A job spec becomes SageMaker's own CreateTrainingJobInput: the request
// both backends take.
func Example() {
	s, err := spec.Parse([]byte(`
job_name: drawings-nightly
backend: sagemaker
input_data_s3_uri: s3://bucket/data/
output_s3_uri: s3://bucket/output/
image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
role_arn: arn:aws:iam::123456789012:role/sagetrain-execution
instance_type: ml.m5.xlarge
hyperparameters:
  epochs: "50"
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	in, err := s.CreateTrainingJobInput(spec.RemoteName(s.JobName, "ab12cd34"), map[string]string{"training": s.InputDataS3URI})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(aws.ToString(in.TrainingJobName))
	fmt.Println(in.ResourceConfig.InstanceType, aws.ToInt32(in.ResourceConfig.InstanceCount))
	fmt.Println(aws.ToString(in.InputDataConfig[0].ChannelName), aws.ToString(in.InputDataConfig[0].DataSource.S3DataSource.S3Uri))
	fmt.Println(in.HyperParameters["epochs"])
	// Output:
	// drawings-nightly-ab12cd34
	// ml.m5.xlarge 1
	// training s3://bucket/data/
	// 50
}
