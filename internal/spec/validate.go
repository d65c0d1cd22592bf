package spec

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sagetrain/sagetrain/internal/errs"
)

// Violation is one broken rule, named by its field path (e.g.
// "hyperparameters.epochs", "tags[aws:x]", "vpc_subnets[2]").
type Violation struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every violation of a spec at once. It is a
// configuration error: errors.Is(err, errs.ErrConfiguration) holds.
type ValidationError struct {
	Violations []Violation `json:"violations"`
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the job spec has %d problem(s):", len(e.Violations))
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\n  %s: %s", v.Field, v.Message)
	}
	return b.String()
}

// Is makes ValidationError a configuration error.
func (e *ValidationError) Is(target error) bool {
	return target == errs.ErrConfiguration || target == errs.ErrSagetrain
}

// SageMaker's rules, from the official service model (botocore's
// service-2.json for sagemaker 2017-07-24); the conformance test checks the
// requests we build against that model.
var (
	reTrainingJobName = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)
	reRoleARN         = regexp.MustCompile(`^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	reS3URI           = regexp.MustCompile(`^(https|s3)://([^/]+)/?(.*)$`)
	reEnvKey          = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	reTag             = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	reVPCID           = regexp.MustCompile(`^[-0-9a-zA-Z]+$`)
	reKMSKey          = regexp.MustCompile(`^[a-zA-Z0-9:/_-]*$`)
	reChannelName     = regexp.MustCompile(`^[A-Za-z0-9\.\-_]+$`)
	reImageRef        = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-]*(:[0-9]+)?/[a-z0-9._/\-]+((:[A-Za-z0-9_.\-]{1,128})|(@sha256:[a-f0-9]{64}))?$`)
)

// Limits of the fields, SageMaker's where it has one.
const (
	MaxRuntimeLimitSeconds = 28 * 24 * 60 * 60 // SageMaker's documented 28-day limit
	MaxVolumeSizeGB        = 16384
	MaxInstanceCount       = 100
	MaxLocalInstanceCount  = 16 // one process per host on this machine
	MaxHyperparameters     = 100
	MaxEnvironment         = 100
	MaxTags                = 50
	MaxMetricDefinitions   = 40
	MaxKeepAliveSeconds    = 21600
	MaxRetryAttempts       = 30
)

// Validate checks the spec against every rule and returns a
// *ValidationError listing all violations, or nil. Call ApplyDefaults first.
func (s *Spec) Validate() error {
	v := &validator{}
	v.check(s)
	if len(v.out) == 0 {
		return nil
	}
	return &ValidationError{Violations: v.out}
}

type validator struct{ out []Violation }

func (v *validator) add(field, format string, args ...any) {
	v.out = append(v.out, Violation{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) check(s *Spec) {
	sm := s.Backend == BackendSageMaker

	// Name and backend.
	switch {
	case strings.TrimSpace(s.JobName) == "":
		v.add("job_name", "is required")
	case !strings.ContainsFunc(s.JobName, isAlnum):
		v.add("job_name", "must contain at least one letter or digit (the SageMaker name is derived from it)")
	case len(s.JobName) > 256:
		v.add("job_name", "is %d characters long; at most 256", len(s.JobName))
	}
	if s.Backend != BackendLocal && s.Backend != BackendSageMaker {
		v.add("backend", "is %q; must be %q or %q", s.Backend, BackendLocal, BackendSageMaker)
	}

	// Data.
	switch {
	case s.DatasetFolder == "" && s.InputDataS3URI == "":
		v.add("dataset_folder", "one of dataset_folder or input_data_s3_uri is required")
	case s.DatasetFolder != "" && s.InputDataS3URI != "":
		v.add("input_data_s3_uri", "give either dataset_folder or input_data_s3_uri, not both")
	}
	if s.InputDataS3URI != "" {
		v.s3URI("input_data_s3_uri", s.InputDataS3URI)
	}
	if s.MetadataFile != "" && s.DatasetFolder == "" {
		v.add("metadata_file", "only applies with dataset_folder (an S3 data set has its metadata at <prefix>/metadata.csv)")
	}
	for _, name := range sortedKeys(s.Channels) {
		uri := s.Channels[name]
		f := "channels." + name
		if name == "training" {
			v.add(f, "the training channel comes from dataset_folder or input_data_s3_uri")
		}
		if !reChannelName.MatchString(name) || len(name) > 64 {
			v.add(f, "channel name must be 1-64 of A-Z a-z 0-9 . - _")
		}
		if strings.HasPrefix(uri, "s3://") || strings.HasPrefix(uri, "https://") {
			v.s3URI(f, uri)
		} else if uri == "" {
			v.add(f, "is empty; give a local folder or an s3:// URI")
		}
	}
	if len(s.Channels)+1 > 20 {
		v.add("channels", "at most 20 channels in all")
	}
	if !slices.Contains([]string{"File", "FastFile", "Pipe"}, s.InputMode) {
		v.add("input_mode", "is %q; must be File or FastFile", s.InputMode)
	} else if s.InputMode == "Pipe" {
		v.add("input_mode", "Pipe mode is not supported by the trainer; use File or FastFile")
	}

	// Where things go.
	if sm {
		if s.OutputS3URI == "" {
			v.add("output_s3_uri", "is required for SageMaker jobs (s3://bucket/prefix)")
		} else {
			v.s3URI("output_s3_uri", s.OutputS3URI)
		}
		if s.ImageURI == "" {
			v.add("image_uri", "is required for SageMaker jobs; build and push one with 'sagetrain image build --push' or 'sagetrain setup'")
		} else if len(s.ImageURI) > 255 || !reImageRef.MatchString(s.ImageURI) {
			v.add("image_uri", "%q is not an image reference like ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:...", s.ImageURI)
		}
		if s.RoleARN == "" {
			v.add("role_arn", "is required for SageMaker jobs; create one with 'sagetrain role create'")
		}
		if s.DatasetFolder != "" && s.OutputS3URI == "" {
			v.add("dataset_folder", "a local dataset for a SageMaker job is uploaded next to output_s3_uri, which is missing")
		}
	} else if strings.HasPrefix(s.OutputS3URI, "s3://") || strings.HasPrefix(s.OutputS3URI, "https://") {
		v.s3URI("output_s3_uri", s.OutputS3URI)
	}
	if s.RoleARN != "" && (len(s.RoleARN) < 20 || len(s.RoleARN) > 2048 || !reRoleARN.MatchString(s.RoleARN)) {
		v.add("role_arn", "%q is not an IAM role ARN like arn:aws:iam::123456789012:role/NAME", s.RoleARN)
	}

	// Resources.
	localMode := s.Backend == BackendLocal && s.InstanceType == LocalInstanceType
	if !localMode && !slices.Contains(InstanceTypes, s.InstanceType) {
		v.add("instance_type", "%q is not a SageMaker training instance type (e.g. ml.m5.xlarge, ml.g5.xlarge)", s.InstanceType)
	}
	maxCount := int32(MaxInstanceCount)
	if s.Backend == BackendLocal {
		maxCount = MaxLocalInstanceCount
	}
	if s.InstanceCount < 1 || s.InstanceCount > maxCount {
		v.add("instance_count", "is %d; must be 1 to %d", s.InstanceCount, maxCount)
	}
	if s.VolumeSizeGB < 1 || s.VolumeSizeGB > MaxVolumeSizeGB {
		v.add("volume_size_gb", "is %d; must be 1 to %d", s.VolumeSizeGB, MaxVolumeSizeGB)
	}
	if s.MaxRuntimeSeconds < 1 || s.MaxRuntimeSeconds > MaxRuntimeLimitSeconds {
		v.add("max_runtime_seconds", "is %d; must be 1 to %d (28 days)", s.MaxRuntimeSeconds, MaxRuntimeLimitSeconds)
	}

	// Hyperparameters and environment.
	if len(s.Hyperparameters) > MaxHyperparameters {
		v.add("hyperparameters", "has %d entries; at most %d", len(s.Hyperparameters), MaxHyperparameters)
	}
	for _, k := range sortedKeys(s.Hyperparameters) {
		f := "hyperparameters." + k
		if len(k) > 256 {
			v.add(f, "name is %d characters; at most 256", len(k))
		}
		if len(s.Hyperparameters[k]) > 2500 {
			v.add(f, "value is %d characters; at most 2500", len(s.Hyperparameters[k]))
		}
	}
	if _, vs := Resources(s.Hyperparameters); len(vs) > 0 {
		v.out = append(v.out, vs...)
	}
	if len(s.EnvironmentVariables) > MaxEnvironment {
		v.add("environment_variables", "has %d entries; at most %d", len(s.EnvironmentVariables), MaxEnvironment)
	}
	for _, k := range sortedKeys(s.EnvironmentVariables) {
		f := "environment_variables." + k
		if !reEnvKey.MatchString(k) || len(k) > 512 {
			v.add(f, "name must match [a-zA-Z_][a-zA-Z0-9_]* (at most 512 characters)")
		}
		if len(s.EnvironmentVariables[k]) > 512 {
			v.add(f, "value is %d characters; at most 512", len(s.EnvironmentVariables[k]))
		}
		if s.Backend == BackendLocal {
			if why := RefusedLocalEnv(k); why != "" {
				v.add(f, "%s", why)
			}
		}
	}

	// Spot training and checkpoints.
	if s.UseSpotInstances {
		if !sm {
			v.add("use_spot_instances", "spot training is a SageMaker feature; set backend: sagemaker")
		}
		if s.MaxWaitSeconds < s.MaxRuntimeSeconds {
			v.add("max_wait_seconds", "is %d; must be at least max_runtime_seconds (%d)", s.MaxWaitSeconds, s.MaxRuntimeSeconds)
		}
		if s.CheckpointS3URI == "" {
			v.add("checkpoint_s3_uri", "is required with use_spot_instances, so an interrupted job resumes from its checkpoint")
		}
	} else if s.MaxWaitSeconds != 0 {
		v.add("max_wait_seconds", "only applies with use_spot_instances: true")
	}
	if s.CheckpointS3URI != "" {
		v.s3URI("checkpoint_s3_uri", s.CheckpointS3URI)
	}
	if s.ResumeFrom != "" {
		switch {
		case sm && s.CheckpointS3URI != "" && s.ResumeFrom != s.CheckpointS3URI:
			v.add("resume_from", "must equal checkpoint_s3_uri on SageMaker (it resumes from, and keeps writing to, that one URI)")
		case sm:
			v.s3URI("resume_from", s.ResumeFrom)
		case !strings.HasPrefix(s.ResumeFrom, "file:///"):
			v.add("resume_from", "is %q; a local job resumes from a file:// folder (sagetrain resume sets it)", s.ResumeFrom)
		}
	}

	// Tags.
	if len(s.Tags) > MaxTags {
		v.add("tags", "has %d tags; at most %d", len(s.Tags), MaxTags)
	}
	for _, k := range sortedKeys(s.Tags) {
		f := "tags." + k
		switch {
		case k == "" || utf8.RuneCountInString(k) > 128:
			v.add(f, "key must be 1 to 128 characters")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.add(f, "keys starting with aws: are reserved by AWS")
		case !reTag.MatchString(k):
			v.add(f, "key may hold only letters, digits, spaces and _ . : / = + - @")
		}
		if val := s.Tags[k]; utf8.RuneCountInString(val) > 256 || !reTag.MatchString(val) {
			v.add(f, "value must be at most 256 letters, digits, spaces and _ . : / = + - @")
		}
	}

	// VPC.
	if (len(s.VPCSecurityGroupIDs) > 0) != (len(s.VPCSubnets) > 0) {
		v.add("vpc_subnets", "vpc_security_group_ids and vpc_subnets go together: give both or neither")
	}
	if len(s.VPCSecurityGroupIDs) > 5 {
		v.add("vpc_security_group_ids", "has %d; at most 5", len(s.VPCSecurityGroupIDs))
	}
	if len(s.VPCSubnets) > 16 {
		v.add("vpc_subnets", "has %d; at most 16", len(s.VPCSubnets))
	}
	for i, id := range s.VPCSecurityGroupIDs {
		if !reVPCID.MatchString(id) || len(id) > 32 {
			v.add(fmt.Sprintf("vpc_security_group_ids[%d]", i), "%q is not a security group id like sg-0123abcd", id)
		}
	}
	for i, id := range s.VPCSubnets {
		if !reVPCID.MatchString(id) || len(id) > 32 {
			v.add(fmt.Sprintf("vpc_subnets[%d]", i), "%q is not a subnet id like subnet-0123abcd", id)
		}
	}

	// KMS keys.
	for _, k := range [][2]string{{"volume_kms_key_id", s.VolumeKMSKeyID}, {"output_kms_key_id", s.OutputKMSKeyID}} {
		if key := k[1]; key != "" && (len(key) > 2048 || !reKMSKey.MatchString(key)) {
			v.add(k[0], "%q is not a KMS key id, alias or ARN", key)
		}
	}

	// Metric definitions.
	if len(s.MetricDefinitions) > MaxMetricDefinitions {
		v.add("metric_definitions", "has %d; at most %d", len(s.MetricDefinitions), MaxMetricDefinitions)
	}
	for i, m := range s.MetricDefinitions {
		f := fmt.Sprintf("metric_definitions[%d]", i)
		if m.Name == "" || len(m.Name) > 255 {
			v.add(f+".name", "must be 1 to 255 characters")
		}
		if m.Regex == "" || len(m.Regex) > 500 {
			v.add(f+".regex", "must be 1 to 500 characters")
		} else if _, err := regexp.Compile(m.Regex); err != nil {
			v.add(f+".regex", "does not compile: %v", err)
		}
	}

	// Retry and warm pool.
	if s.RetryMaxAttempts != 0 && (s.RetryMaxAttempts < 1 || s.RetryMaxAttempts > MaxRetryAttempts) {
		v.add("retry_max_attempts", "is %d; must be 1 to %d", s.RetryMaxAttempts, MaxRetryAttempts)
	}
	if s.KeepAlivePeriodSeconds < 0 || s.KeepAlivePeriodSeconds > MaxKeepAliveSeconds {
		v.add("keep_alive_period_seconds", "is %d; must be 0 to %d", s.KeepAlivePeriodSeconds, MaxKeepAliveSeconds)
	}
	if s.KeepAlivePeriodSeconds > 0 && s.UseSpotInstances {
		v.add("keep_alive_period_seconds", "warm pools cannot be used with spot training")
	}
	v.checkNotify(s)
}

func (v *validator) s3URI(field, uri string) {
	if len(uri) > 1024 || !reS3URI.MatchString(uri) {
		v.add(field, "%q is not an S3 URI like s3://bucket/prefix", uri)
	}
}

func isAlnum(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
