// Package sagemakerbench counts SageMaker API calls per refresh of N live
// jobs: sagetrain's list-based Refresh against the original's one
// DescribeTrainingJob per job per tick, both against the training emulator.
//
//	go test ./bench/sagemaker -run TestRefreshCallTable -v
//	go test ./bench/sagemaker -run '^$' -bench . -benchtime 5x
package sagemakerbench
