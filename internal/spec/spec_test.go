package spec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sagetrain/sagetrain/internal/errs"
)

func validSageMaker() *Spec {
	s := &Spec{
		JobName:        "drawing_anomaly_v1",
		Backend:        BackendSageMaker,
		InputDataS3URI: "s3://bucket/data/",
		OutputS3URI:    "s3://bucket/output/",
		ImageURI:       "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("a", 64),
		RoleARN:        "arn:aws:iam::123456789012:role/sagetrain-execution",
	}
	s.ApplyDefaults()
	return s
}

func TestValidSpecsPass(t *testing.T) {
	if err := validSageMaker().Validate(); err != nil {
		t.Fatalf("valid SageMaker spec rejected: %v", err)
	}
	local := &Spec{JobName: "quick", DatasetFolder: "/data/drawings"}
	local.ApplyDefaults()
	if err := local.Validate(); err != nil {
		t.Fatalf("valid local spec rejected: %v", err)
	}
	if local.MetadataFile != "metadata.csv" || local.InstanceType != "local" || local.InstanceCount != 1 {
		t.Fatalf("defaults not applied: %+v", local)
	}
}

// TestValidationNamesTheField breaks one rule at a time and checks the
// violation names that field.
func TestValidationNamesTheField(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(*Spec)
	}{
		{"job_name", func(s *Spec) { s.JobName = "" }},
		{"job_name", func(s *Spec) { s.JobName = "___" }},
		{"backend", func(s *Spec) { s.Backend = "kubernetes" }},
		{"dataset_folder", func(s *Spec) { s.InputDataS3URI = "" }},
		{"input_data_s3_uri", func(s *Spec) { s.InputDataS3URI = "bucket/data" }},
		{"input_data_s3_uri", func(s *Spec) { s.DatasetFolder = "/x" }},
		{"output_s3_uri", func(s *Spec) { s.OutputS3URI = "" }},
		{"output_s3_uri", func(s *Spec) { s.OutputS3URI = "ftp://x/y" }},
		{"image_uri", func(s *Spec) { s.ImageURI = "" }},
		{"image_uri", func(s *Spec) { s.ImageURI = "Not An Image" }},
		{"role_arn", func(s *Spec) { s.RoleARN = "" }},
		{"role_arn", func(s *Spec) { s.RoleARN = "arn:aws:iam::12:user/x" }},
		{"instance_type", func(s *Spec) { s.InstanceType = "ml.banana.xlarge" }},
		{"instance_count", func(s *Spec) { s.InstanceCount = 0 }},
		{"instance_count", func(s *Spec) { s.InstanceCount = 101 }},
		{"volume_size_gb", func(s *Spec) { s.VolumeSizeGB = -1 }},
		{"max_runtime_seconds", func(s *Spec) { s.MaxRuntimeSeconds = MaxRuntimeLimitSeconds + 1 }},
		{"hyperparameters.epochs", func(s *Spec) { s.Hyperparameters = map[string]string{"epochs": strings.Repeat("9", 2501)} }},
		{"hyperparameters", func(s *Spec) {
			s.Hyperparameters = map[string]string{}
			for i := 0; i < 101; i++ {
				s.Hyperparameters[strings.Repeat("k", i+1)] = "1"
			}
		}},
		{"environment_variables.1BAD", func(s *Spec) { s.EnvironmentVariables = map[string]string{"1BAD": "x"} }},
		{"environment_variables.OK", func(s *Spec) { s.EnvironmentVariables = map[string]string{"OK": strings.Repeat("x", 513)} }},
		{"tags.aws:owner", func(s *Spec) { s.Tags = map[string]string{"aws:owner": "me"} }},
		{"tags.team", func(s *Spec) { s.Tags = map[string]string{"team": "a;b"} }},
		{"tags", func(s *Spec) {
			s.Tags = map[string]string{}
			for i := 0; i < 51; i++ {
				s.Tags[strings.Repeat("t", i+1)] = "v"
			}
		}},
		{"max_wait_seconds", func(s *Spec) { s.UseSpotInstances = true; s.MaxWaitSeconds = 10; s.CheckpointS3URI = "s3://b/c" }},
		{"checkpoint_s3_uri", func(s *Spec) { s.UseSpotInstances = true; s.MaxWaitSeconds = s.MaxRuntimeSeconds }},
		{"vpc_subnets", func(s *Spec) { s.VPCSecurityGroupIDs = []string{"sg-1"} }},
		{"vpc_subnets[0]", func(s *Spec) { s.VPCSecurityGroupIDs = []string{"sg-1"}; s.VPCSubnets = []string{"subnet 1"} }},
		{"volume_kms_key_id", func(s *Spec) { s.VolumeKMSKeyID = "key with spaces" }},
		{"metric_definitions[0].regex", func(s *Spec) { s.MetricDefinitions = []MetricDefinition{{Name: "x", Regex: "("}} }},
		{"retry_max_attempts", func(s *Spec) { s.RetryMaxAttempts = 31 }},
		{"keep_alive_period_seconds", func(s *Spec) { s.KeepAlivePeriodSeconds = 21601 }},
		{"input_mode", func(s *Spec) { s.InputMode = "Pipe" }},
		{"channels.bad name", func(s *Spec) { s.Channels = map[string]string{"bad name": "s3://b/t"} }},
	}
	for _, c := range cases {
		s := validSageMaker()
		c.mutate(s)
		err := s.Validate()
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: want a ValidationError, got %v", c.field, err)
			continue
		}
		if !errors.Is(err, errs.ErrConfiguration) {
			t.Errorf("%s: not a configuration error", c.field)
		}
		found := false
		for _, v := range ve.Violations {
			if v.Field == c.field {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: violation not reported; got %v", c.field, ve.Violations)
		}
	}
}

func TestEveryViolationAtOnce(t *testing.T) {
	s := &Spec{Backend: BackendSageMaker, InstanceCount: -1}
	s.ApplyDefaults()
	err := s.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Violations) < 5 {
		t.Fatalf("want many violations at once, got %v", err)
	}
}

func TestRemoteName(t *testing.T) {
	cases := map[string]string{
		"drawing_anomaly_v1":        "drawing-anomaly-v1-abc123",
		"  --Weird__name!!  ":       "Weird-name-abc123",
		"___":                       "job-abc123",
		strings.Repeat("long_", 30): "",
		"ümlaut and spaces":         "mlaut-and-spaces-abc123",
	}
	for in, want := range cases {
		got := RemoteName(in, "abc123")
		if !reTrainingJobName.MatchString(got) || len(got) > 63 {
			t.Errorf("RemoteName(%q) = %q: not a valid SageMaker name", in, got)
		}
		if want != "" && got != want {
			t.Errorf("RemoteName(%q) = %q, want %q", in, got, want)
		}
		if !strings.HasSuffix(got, "-abc123") {
			t.Errorf("RemoteName(%q) = %q lost its suffix", in, got)
		}
	}
	a, b := NewSuffix(), NewSuffix()
	if a == b || len(a) != 8 {
		t.Fatalf("suffixes %q %q", a, b)
	}
}

func TestLoadYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	y := filepath.Join(dir, "job.yaml")
	os.WriteFile(y, []byte("job_name: j1\ndataset_folder: data\nhyperparameters:\n  epochs: \"5\"\n"), 0o644)
	s, err := Load(y)
	if err != nil {
		t.Fatal(err)
	}
	if s.DatasetFolder != filepath.Join(dir, "data") || s.Hyperparameters["epochs"] != "5" {
		t.Fatalf("loaded %+v", s)
	}
	j := filepath.Join(dir, "job.json")
	os.WriteFile(j, []byte(`{"job_name":"j2","input_data_s3_uri":"s3://b/p","instance_count":2}`), 0o644)
	s, err = Load(j)
	if err != nil || s.InstanceCount != 2 {
		t.Fatalf("json: %v %+v", err, s)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("job_name: j\ninstance_cnt: 2\n"), 0o644)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "instance_cnt") || !errors.Is(err, errs.ErrConfiguration) {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestOverride(t *testing.T) {
	s := &Spec{JobName: "a", DatasetFolder: "/d"}
	for _, kv := range []string{"instance_count=3", "hyperparameters.epochs=7", "job_name=b", "use_spot_instances=true", "vpc_subnets=subnet-1,subnet-2"} {
		if err := s.Override(kv); err != nil {
			t.Fatalf("%s: %v", kv, err)
		}
	}
	if s.InstanceCount != 3 || s.Hyperparameters["epochs"] != "7" || s.JobName != "b" || !s.UseSpotInstances || len(s.VPCSubnets) != 2 || s.DatasetFolder != "/d" {
		t.Fatalf("overrides not applied: %+v", s)
	}
	if err := s.Override("instance_count=many"); err == nil {
		t.Fatal("a non-number instance_count was accepted")
	}
	if err := s.Override("nonsense"); err == nil {
		t.Fatal("an override without = was accepted")
	}
}

func TestCreateTrainingJobInput(t *testing.T) {
	s := validSageMaker()
	s.UseSpotInstances = true
	s.CheckpointS3URI = "s3://bucket/ckpt/"
	s.ApplyDefaults()
	s.Tags = map[string]string{"b": "2", "a": "1"}
	in, err := s.CreateTrainingJobInput("drawing-anomaly-v1-x", map[string]string{"test": "s3://bucket/test/", "training": "s3://bucket/data/"})
	if err != nil {
		t.Fatal(err)
	}
	if *in.InputDataConfig[0].ChannelName != "training" || *in.InputDataConfig[1].ChannelName != "test" {
		t.Fatalf("channel order: %v", in.InputDataConfig)
	}
	if !*in.EnableManagedSpotTraining || *in.StoppingCondition.MaxWaitTimeInSeconds != 2*DefaultMaxRuntimeSeconds || *in.CheckpointConfig.S3Uri != "s3://bucket/ckpt/" {
		t.Fatalf("spot settings: %+v", in.StoppingCondition)
	}
	if *in.Tags[0].Key != "a" || len(in.AlgorithmSpecification.MetricDefinitions) != len(DefaultMetricDefinitions) {
		t.Fatalf("tags or metrics: %+v", in.Tags)
	}
	if _, err := s.CreateTrainingJobInput("x", map[string]string{"test": "s3://b/t"}); err == nil {
		t.Fatal("no training channel accepted")
	}
}

// TestDefaultMetricsMatchTrainerLines checks the default metric regexes
// against lines in the trainer's documented stdout format.
func TestDefaultMetricsMatchTrainerLines(t *testing.T) {
	lines := map[string]string{
		"test_auroc":       "metric: test_auroc=0.9825",
		"epoch:val_loss":   "epoch=3 group=6-7 train_loss=0.41 val_loss=0.4321",
		"epoch:train_loss": "epoch=3 group=6-7 train_loss=0.41 val_loss=0.4321",
	}
	for name, line := range lines {
		found := false
		for _, m := range DefaultMetricDefinitions {
			if m.Name != name {
				continue
			}
			found = true
			sub := regexp.MustCompile(m.Regex).FindStringSubmatch(line)
			if len(sub) < 2 || sub[1] == "" {
				t.Errorf("%s: regex %q does not capture a value in %q", name, m.Regex, line)
			}
		}
		if !found {
			t.Errorf("no default metric definition %s", name)
		}
	}
}
