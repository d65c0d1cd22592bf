// Package sagemakeremu is a SageMaker training emulator for tests: an HTTP
// server on 127.0.0.1 that speaks SageMaker's JSON 1.1 protocol
// (CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs,
// StopTrainingJob) to the real AWS SDK, and really runs each job: it
// downloads the channels from S3, runs the trainer once per instance in a
// temporary /opt/ml root, moves through SageMaker's statuses and secondary
// statuses, writes the trainer's output to CloudWatch Logs (one stream per
// instance), and uploads model.tar.gz and output.tar.gz to
// <S3OutputPath>/<job>/output/ exactly where SageMaker puts them.
//
// moto answers SageMaker's API shape but its jobs finish at once and cannot be
// stopped; this emulator exists for the behaviour in between. It can also
// inject faults: throttling, 500s, and a job that fails.
package sagemakeremu
