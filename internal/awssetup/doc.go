// Package awssetup loads the AWS configuration for the whole program, checks
// that an account is ready for training jobs (sagetrain validate), creates
// the SageMaker execution role, and runs the whole setup flow (Setup:
// validate, role, image build and push) that `sagetrain setup` prints.
package awssetup
