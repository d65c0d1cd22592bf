// Package awssetup loads the AWS configuration for the whole program, creates
// the SageMaker execution role and checks that an account is ready for
// training jobs (sagetrain validate).
package awssetup
