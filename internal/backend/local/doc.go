// Package local is the backend that runs training jobs on this machine, with
// no AWS account and no Docker: each job is a detached process group of this
// same binary (`sagetrain local-run DIR`, which starts `sagetrain train
// --ml-root HOSTDIR` once per instance) in a per-job folder, laid out like
// SageMaker's /opt/ml. All of a job's state is on disk (see layout.go), so any
// later process can describe, stop or follow a job that an earlier, finished
// CLI command started, exactly as it could a SageMaker job.
package local
