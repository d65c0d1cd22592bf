// Package sagemaker is the backend that runs training jobs on Amazon
// SageMaker through aws-sdk-go-v2.
//
// It follows many jobs cheaply: Refresh lists jobs modified since it last
// looked (ListTrainingJobs, paged, with LastModifiedTimeAfter) and describes
// only those whose status changed. Throttling and 5xx answers are retried by
// the SDK's retryer (more attempts than its default) and by a loop of our own
// around each call; when they persist the call returns an error and the
// caller keeps the job as it was: an AWS error never makes a job "failed".
//
// MapStatus is the one SageMaker -> sagetrain status mapping; its table is
// in docs/sagemaker.md. The backend fills in the status of every
// observation and of every secondary status transition with it.
package sagemaker
