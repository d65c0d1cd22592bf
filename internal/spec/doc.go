// Package spec is the job spec file: load (YAML or JSON), defaults,
// validation against SageMaker's rules, and conversion to
// sagemaker.CreateTrainingJobInput.
//
// Field names are the original service's, so its configurations carry over.
package spec
