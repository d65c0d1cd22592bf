package awssetup

import (
	"strings"
)

// The one layout of the bucket, used by setup, upload, submit, validate,
// serve and the role policy. --prefix is always the root:
//
//	<root>/data/...                    data sets ('sagetrain upload DIR --to s3://B/<root>/data/NAME')
//	<root>/output/<job>/output/...     model.tar.gz, output.tar.gz (SageMaker)
//	<root>/output/<job>/input/<chan>/  local data sets that submit uploads for a job
//	<root>/checkpoints/...             checkpoints (read and written by jobs)
//
// The execution role reads everything under the root and writes output and
// checkpoints, so it can read what both upload and submit write.
const (
	DefaultPrefix   = "sagetrain"
	DefaultRoleName = "sagetrain-training"
)

// Layout is a bucket and its root prefix.
type Layout struct {
	Bucket string
	Root   string // "" = the whole bucket
}

func (l Layout) join(s string) string {
	if r := strings.Trim(l.Root, "/"); r != "" {
		return r + "/" + s
	}
	return s
}

// DataPrefix is where data sets go.
func (l Layout) DataPrefix() string { return l.join("data") }

// OutputPrefix is where jobs write (and where submit stages local data).
func (l Layout) OutputPrefix() string { return l.join("output") }

// CheckpointPrefix is where jobs keep checkpoints.
func (l Layout) CheckpointPrefix() string { return l.join("checkpoints") }

// URI is s3://bucket/prefix/.
func (l Layout) URI(prefix string) string {
	return "s3://" + l.Bucket + "/" + strings.Trim(prefix, "/") + "/"
}

// RoleOptions are the role options of the layout: read the root, write
// output and checkpoints.
func (l Layout) RoleOptions(name, repository string) RoleOptions {
	return RoleOptions{Name: name, Bucket: l.Bucket, InputPrefix: strings.Trim(l.Root, "/"), OutputPrefix: l.OutputPrefix(),
		CheckpointPrefix: l.CheckpointPrefix(), Repository: repository}
}

// ValidateOptions check the layout's data and output prefixes.
func (l Layout) ValidateOptions(repository, role string) ValidateOptions {
	return ValidateOptions{Bucket: l.Bucket, Prefix: l.DataPrefix(), OutputPrefix: l.OutputPrefix(), Repository: repository, Role: role}
}

// CheckRoleOptions refuses role options that IAM or S3 would refuse later
// (an invalid role name, a URI as a prefix), before any AWS call.
func CheckRoleOptions(o RoleOptions) error { return o.check() }
