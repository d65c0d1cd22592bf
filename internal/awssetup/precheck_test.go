package awssetup

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/sagetrain/sagetrain/internal/spec"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// TestLayoutAndPrecheck: the role of the one layout reads what upload and
// submit write (validate --spec says so), and submit's checks tell a
// missing input, role or image from a check that cannot be made.
func TestLayoutAndPrecheck(t *testing.T) {
	p := &peers{s3: testpeer.StartS3(t), moto: testpeer.StartMoto(t)}
	for _, c := range []struct {
		name string
		f    func(*testing.T, *peers)
	}{{"validate --spec", testValidateSpecLayout}, {"submit checks", testSubmitChecks}} {
		t.Run(c.name, func(t *testing.T) {
			p.moto.Reset(t)
			c.f(t, p)
		})
	}
}

func layoutWorld(t *testing.T, p *peers) (aws.Config, Layout) {
	t.Helper()
	p.s3.Env(t)
	p.moto.Env(t)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lay := Layout{Bucket: "layout", Root: DefaultPrefix}
	if _, err := NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(lay.Bucket)}); err != nil &&
		APIErrorCode(err) != "BucketAlreadyOwnedByYou" && APIErrorCode(err) != "BucketAlreadyExists" {
		t.Fatal(err)
	}
	if _, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("sagetrain")}); err != nil {
		t.Fatal(err)
	}
	return cfg, lay
}

func testValidateSpecLayout(t *testing.T, p *peers) {
	cfg, lay := layoutWorld(t, p)
	ctx := context.Background()
	ro := lay.RoleOptions(DefaultRoleName, "sagetrain")
	ro.Grace = -1
	role, err := EnsureRole(ctx, cfg, ro)
	if err != nil {
		t.Fatal(err)
	}
	// A spec with a local dataset_folder: submit uploads it under the
	// job's output prefix, which the role must read.
	local := &spec.Spec{JobName: "drawing_anomaly", Backend: spec.BackendSageMaker, DatasetFolder: "/somewhere/drawings",
		OutputS3URI: lay.URI(lay.OutputPrefix()), RoleARN: role.ARN, CheckpointS3URI: lay.URI(lay.CheckpointPrefix()),
		ImageURI: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("0", 64)}
	uploaded := *local
	uploaded.DatasetFolder, uploaded.InputDataS3URI = "", lay.URI(lay.DataPrefix()+"/training")
	for name, sp := range map[string]*spec.Spec{"local dataset": local, "uploaded dataset": &uploaded} {
		o, err := ValidateOptionsForSpec(sp)
		if err != nil {
			t.Fatal(err)
		}
		if o.Repository != "sagetrain" || o.Role != role.ARN || len(o.Reads) != 1 {
			t.Fatalf("%s: options %+v", name, o)
		}
		r := Validate(ctx, cfg, o)
		if c := statusOf(r, "role_permissions"); c.Status == StatusError {
			t.Errorf("%s: the layout's role cannot do what the job does: %+v", name, c)
		}
	}
	// The old role (data/ only) cannot read what submit uploads: validate
	// --spec must say so.
	if _, err := EnsureRole(ctx, cfg, RoleOptions{Name: "narrow", Bucket: lay.Bucket, InputPrefix: lay.DataPrefix(),
		OutputPrefix: lay.OutputPrefix(), Repository: "sagetrain", Grace: -1}); err != nil {
		t.Fatal(err)
	}
	narrow := *local
	narrow.RoleARN = strings.Replace(role.ARN, DefaultRoleName, "narrow", 1)
	o, _ := ValidateOptionsForSpec(&narrow)
	r := Validate(ctx, cfg, o)
	if c := statusOf(r, "role_permissions"); c.Status != StatusError || !strings.Contains(c.Message, "/input/training") {
		t.Errorf("a role that cannot read the staged input: %+v", c)
	}
}

func testSubmitChecks(t *testing.T, p *peers) {
	cfg, lay := layoutWorld(t, p)
	ctx := context.Background()
	ro := lay.RoleOptions(DefaultRoleName, "sagetrain")
	ro.Grace = -1
	role, err := EnsureRole(ctx, cfg, ro)
	if err != nil {
		t.Fatal(err)
	}
	key := lay.DataPrefix() + "/full/metadata.csv"
	if _, err := NewS3Client(cfg).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(lay.Bucket), Key: &key, Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	check := SubmitChecks(cfg)
	image := "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagetrain@sha256:" + strings.Repeat("0", 64)
	ok := &spec.Spec{InputDataS3URI: lay.URI(lay.DataPrefix() + "/full"), RoleARN: role.ARN}
	if problems, warnings := check(ctx, ok); len(problems) > 0 || len(warnings) > 0 {
		t.Errorf("a good spec: problems %v, warnings %v", problems, warnings)
	}
	bad := &spec.Spec{InputDataS3URI: lay.URI(lay.DataPrefix() + "/empty"), RoleARN: "arn:aws:iam::123456789012:role/nobody",
		ImageURI: image, Channels: map[string]string{"test": "s3://no-such-bucket/x/"}}
	problems, _ := check(ctx, bad)
	got := map[string]string{}
	for _, v := range problems {
		got[v.Field] = v.Message
	}
	for field, want := range map[string]string{"input_data_s3_uri": "holds no objects", "role_arn": "does not exist",
		"image_uri": "is not in the repository", "channels.test": "does not exist"} {
		if !strings.Contains(got[field], want) {
			t.Errorf("%s: %q, want %q (all: %v)", field, got[field], want, problems)
		}
	}
	// A role that does not trust SageMaker.
	if _, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2only"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	problems, _ = check(ctx, &spec.Spec{RoleARN: strings.Replace(role.ARN, DefaultRoleName, "ec2only", 1)})
	if len(problems) != 1 || !strings.Contains(problems[0].Message, "does not let sagemaker") {
		t.Errorf("untrusting role: %v", problems)
	}
	// IAM out of reach: a warning, not a block.
	t.Setenv("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:1")
	cfg2, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	problems, warnings := SubmitChecks(cfg2)(ctx, &spec.Spec{RoleARN: "arn:aws:iam::123456789012:role/nobody"})
	if len(problems) > 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "not checked") {
		t.Errorf("unreachable IAM: problems %v, warnings %v", problems, warnings)
	}
}

// The SDK's own logger is silent unless --debug.
func TestSDKLoggingOffUnlessDebug(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg, err := LoadConfig(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, nop := cfg.Logger.(logging.Nop); !nop || cfg.ClientLogMode != 0 {
		t.Errorf("default logger %T, mode %v; want silent", cfg.Logger, cfg.ClientLogMode)
	}
	SetDebug(true)
	defer SetDebug(false)
	cfg, _ = LoadConfig(context.Background(), Options{})
	if _, nop := cfg.Logger.(logging.Nop); nop || cfg.ClientLogMode&aws.LogRetries == 0 {
		t.Errorf("--debug logger %T, mode %v", cfg.Logger, cfg.ClientLogMode)
	}
}
