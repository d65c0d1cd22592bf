package awssetup

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// peers are the servers shared by the validate tests (moto starts slowly).
type peers struct {
	s3, eu *testpeer.S3
	moto   *testpeer.Moto
}

// TestValidate runs every validate case against one versitygw per region
// and one moto, reset between cases.
func TestValidate(t *testing.T) {
	p := &peers{s3: testpeer.StartS3(t), eu: testpeer.StartS3InRegion(t, "eu-west-1"), moto: testpeer.StartMoto(t)}
	for _, c := range []struct {
		name string
		f    func(*testing.T, *peers)
	}{{"healthy", testValidateHealthy}, {"broken", testValidateBroken}, {"bucket in another region", testValidateBucketInAnotherRegion}} {
		t.Run(c.name, func(t *testing.T) {
			p.moto.Reset(t)
			c.f(t, p)
		})
	}
}

// healthy sets up a bucket on versitygw and a repository and role on moto.
func healthy(t *testing.T, p *peers) (aws.Config, *testpeer.S3, ValidateOptions) {
	t.Helper()
	srv := p.s3
	srv.Env(t)
	p.moto.Env(t)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewS3Client(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("training")}); err != nil &&
		APIErrorCode(err) != "BucketAlreadyOwnedByYou" && APIErrorCode(err) != "BucketAlreadyExists" {
		t.Fatal(err)
	}
	if _, err := ecr.NewFromConfig(cfg).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("sagetrain")}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureRole(ctx, cfg, RoleOptions{Name: "exec", Bucket: "training", InputPrefix: "data", OutputPrefix: "output",
		Repository: "sagetrain", Grace: -1}); err != nil {
		t.Fatal(err)
	}
	return cfg, srv, ValidateOptions{Bucket: "training", Prefix: "data", OutputPrefix: "output", Repository: "sagetrain", Role: "exec"}
}

func statusOf(r *Report, name string) Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func wantError(t *testing.T, r *Report, check, text string) {
	t.Helper()
	if r.IsValid {
		t.Errorf("report is valid, want an error on %s", check)
	}
	c := statusOf(r, check)
	if c.Status != StatusError || !strings.Contains(c.Message, text) || c.Fix == "" {
		t.Errorf("check %s: %+v, want an error mentioning %q with a fix", check, c, text)
	}
	found := false
	for _, e := range r.Errors {
		found = found || (e.Check == check && e.Fix != "")
	}
	if !found {
		t.Errorf("errors lack %s: %+v", check, r.Errors)
	}
}

func testValidateHealthy(t *testing.T, p *peers) {
	cfg, srv, o := healthy(t, p)
	ctx := context.Background()
	r := Validate(ctx, cfg, o)
	if !r.IsValid || len(r.Errors) != 0 {
		t.Fatalf("healthy setup invalid: %+v", r)
	}
	for _, name := range []string{"identity", "region", "sagemaker", "bucket", "prefix_read", "prefix_write", "repository", "role", "role_trust"} {
		if c := statusOf(r, name); c.Status != StatusOK {
			t.Errorf("check %s: %+v", name, c)
		}
	}
	// moto has no IAM simulator: the role's own policy is evaluated, with a warning saying so.
	if c := statusOf(r, "role_permissions"); c.Status != StatusWarning || !strings.Contains(c.Message, "has the permissions") {
		t.Errorf("role_permissions: %+v", c)
	}
	if r.Found["account"] != "123456789012" || r.Found["region"] != "us-east-1" || r.Found["bucket_region"] != "us-east-1" ||
		!strings.HasSuffix(r.Found["role_arn"], ":role/exec") || !strings.Contains(r.Found["repository_uri"], "sagetrain") || r.Found["arn"] == "" {
		t.Errorf("found: %v", r.Found)
	}
	// The probe object is gone.
	l, err := NewS3Client(cfg).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("training")})
	if err != nil || len(l.Contents) != 0 {
		t.Errorf("probe object left behind: %v %d", err, len(l.Contents))
	}
	_ = srv

	o.ReadOnly = true
	r = Validate(ctx, cfg, o)
	if !r.IsValid || statusOf(r, "prefix_write").Status != StatusSkipped {
		t.Errorf("--read-only: %+v", r.Checks)
	}
}

func testValidateBroken(t *testing.T, p *peers) {
	cfg, _, good := healthy(t, p)
	ctx := context.Background()

	o := good
	o.Bucket = "no-such-bucket"
	wantError(t, Validate(ctx, cfg, o), "bucket", "bucket does not exist")

	o = good
	o.Repository = "missing-repo"
	wantError(t, Validate(ctx, cfg, o), "repository", "missing-repo does not exist")

	o = good
	o.Role = "arn:aws:iam::123456789012:role/nobody"
	r := Validate(ctx, cfg, o)
	wantError(t, r, "role", "nobody does not exist")
	if !strings.Contains(statusOf(r, "role").Fix, "sagetrain role create nobody") {
		t.Errorf("fix: %q", statusOf(r, "role").Fix)
	}

	client := iam.NewFromConfig(cfg)
	ec2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2"), AssumeRolePolicyDocument: &ec2}); err != nil {
		t.Fatal(err)
	}
	o = good
	o.Role = "ec2"
	r = Validate(ctx, cfg, o)
	wantError(t, r, "role_trust", "does not let sagemaker.amazonaws.com")
	wantError(t, r, "role_permissions", "lacks: s3:GetObject")

	// The role was made for another bucket: the data is not readable.
	o = good
	o.Prefix = "elsewhere"
	wantError(t, Validate(ctx, cfg, o), "role_permissions", "s3:GetObject on arn:aws:s3:::training/elsewhere/metadata.csv")

	// Wrong S3 secret: the bucket check says so and leaks nothing.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
	bad, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = Validate(ctx, bad, good)
	wantError(t, r, "bucket", "secret access key")
	for _, c := range r.Checks {
		if strings.Contains(c.Message+c.Fix, "wrong-secret-value") {
			t.Errorf("secret leaked in %+v", c)
		}
	}

	// No credentials at all: identity fails and the rest is skipped.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	none, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r = Validate(ctx, none, good)
	wantError(t, r, "identity", "no AWS credentials")
	if statusOf(r, "bucket").Status != StatusSkipped {
		t.Errorf("bucket check after failed identity: %+v", statusOf(r, "bucket"))
	}
}

func testValidateBucketInAnotherRegion(t *testing.T, p *peers) {
	p.eu.Env(t) // the client stays in us-east-1
	p.moto.Env(t)
	ctx := context.Background()
	euCfg, err := LoadConfig(ctx, Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewS3Client(euCfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bucket-eu")}); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Validate(ctx, cfg, ValidateOptions{Bucket: "bucket-eu", Prefix: "data"})
	wantError(t, r, "bucket", "is in eu-west-1 but jobs run in us-east-1")
	if r.Found["bucket_region"] != "eu-west-1" || !strings.Contains(statusOf(r, "bucket").Fix, "AWS_REGION=eu-west-1") {
		t.Errorf("found %v, fix %q", r.Found, statusOf(r, "bucket").Fix)
	}
	// From eu-west-1 the same bucket is fine.
	r = Validate(ctx, euCfg, ValidateOptions{Bucket: "bucket-eu", Prefix: "data"})
	if statusOf(r, "bucket").Status != StatusOK || statusOf(r, "prefix_write").Status != StatusOK {
		t.Errorf("same region: %+v", r.Checks)
	}
}

func TestAllowedBy(t *testing.T) {
	doc := InlinePolicy(RoleScope{Bucket: "b", InputPrefix: "in", OutputPrefix: "out", Repository: "r", Account: "1", Region: "us-east-1"}).JSON()
	cases := []struct {
		action, resource string
		want             bool
	}{
		{"s3:GetObject", "arn:aws:s3:::b/in/deep/x.png", true},
		{"s3:GetObject", "arn:aws:s3:::b/out/x", false},
		{"S3:PutObject", "arn:aws:s3:::b/out/job/model.tar.gz", true},
		{"s3:PutObject", "arn:aws:s3:::b/in/x", false},
		{"ecr:BatchGetImage", "arn:aws:ecr:us-east-1:1:repository/r", true},
		{"ecr:BatchGetImage", "arn:aws:ecr:us-east-1:1:repository/other", false},
		{"sagemaker:CreateTrainingJob", "*", false},
	}
	for _, c := range cases {
		if got := allowedBy([]string{doc}, c.action, c.resource); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.action, c.resource, got, c.want)
		}
	}
	deny := `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`
	if allowedBy([]string{doc, deny}, "s3:GetObject", "arn:aws:s3:::b/in/x") {
		t.Error("an explicit Deny did not win")
	}
}
