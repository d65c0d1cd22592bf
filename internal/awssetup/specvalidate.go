package awssetup

import (
	"strings"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/image"
	"github.com/sagetrain/sagetrain/internal/spec"
)

// ValidateOptionsForSpec are the checks of the exact prefixes, role and
// repository a SageMaker job of this spec will use: its S3 input (or, for a
// local dataset_folder, the <output>/<job>/input/<channel> prefix submit
// uploads it to), its output and checkpoint prefixes, its image's repository.
func ValidateOptionsForSpec(sp *spec.Spec) (ValidateOptions, error) {
	if !strings.HasPrefix(sp.OutputS3URI, "s3://") {
		return ValidateOptions{}, errs.Configuration("the spec's output_s3_uri is not an s3:// URI",
			"set output_s3_uri: s3://BUCKET/sagetrain/output (the values 'sagetrain setup' prints)", nil)
	}
	var o ValidateOptions
	o.Bucket, o.OutputPrefix = splitS3(sp.OutputS3URI)
	o.Role = sp.RoleARN
	o.Checkpoint = sp.CheckpointS3URI
	// A local data set is uploaded under the job's own output prefix; the
	// name here stands for any job of this spec.
	staged := func(channel string) string {
		return "s3://" + o.Bucket + "/" + strings.Trim(o.OutputPrefix+"/"+spec.RemoteName(sp.JobName, "xxxxxxxx")+"/input/"+channel, "/")
	}
	switch {
	case strings.HasPrefix(sp.InputDataS3URI, "s3://"):
		o.Reads = append(o.Reads, sp.InputDataS3URI)
	case sp.DatasetFolder != "":
		o.Reads = append(o.Reads, staged("training"))
	}
	for name, uri := range sp.Channels {
		if strings.HasPrefix(uri, "s3://") {
			o.Reads = append(o.Reads, uri)
		} else {
			o.Reads = append(o.Reads, staged(name))
		}
	}
	// The bucket check lists and probes the first input in the output's bucket.
	o.Prefix = o.OutputPrefix
	for _, r := range o.Reads {
		if b, p := splitS3(r); b == o.Bucket {
			o.Prefix = p
			break
		}
	}
	if host, rest, ok := strings.Cut(sp.ImageURI, "/"); ok {
		if _, isECR := image.ParseECRHost(host); isECR {
			repo, _, _ := strings.Cut(rest, "@")
			if i := strings.LastIndexByte(repo, ':'); i >= 0 {
				repo = repo[:i]
			}
			o.Repository = repo
		}
	}
	return o, nil
}
