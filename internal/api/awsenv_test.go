package api

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sagetrain/sagetrain/internal/awssetup"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

// TestAWSEnvironmentsWithMoto wires the SageMaker routes to awssetup
// against moto (IAM, STS, ECR): status answers 200 with the account,
// setup creates the role, readiness includes AWS, and every AWS call is
// counted in /metrics through the SDK hook.
func TestAWSEnvironmentsWithMoto(t *testing.T) {
	m := testpeer.StartMoto(t)
	m.Env(t)
	ctx := context.Background()
	cfg, err := awssetup.LoadConfig(ctx, awssetup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	metrics := NewMetrics(nil)
	cfg.APIOptions = append(cfg.APIOptions, metrics.AWSAPIOption)
	envs := &AWSEnvironments{
		Config:   cfg,
		Validate: awssetup.ValidateOptions{Role: "SageTrainApiRole"},
		Role:     awssetup.RoleOptions{Name: "SageTrainDefaultRole", Bucket: "drawings-bucket", InputPrefix: "in", OutputPrefix: "out", Repository: "sagetrain", Grace: -1},
	}
	h := newHarness(t, func(o *Options) {
		o.Environments = envs
		o.Metrics = metrics
		o.ReadyChecks = map[string]func(context.Context) error{"aws": envs.ReadyCheck}
	})
	var st map[string]map[string]any
	h.json("GET", Prefix+"/environments/status?environment=sagemaker", "", 200, &st)
	if st["sagemaker"]["configured"] != true || st["sagemaker"]["account"] == "" || st["sagemaker"]["region"] != testpeer.Region {
		t.Fatalf("status = %v", st)
	}
	// The role does not exist yet: the check says so.
	if st["sagemaker"]["available"] != false {
		t.Fatalf("available before setup: %v", st)
	}
	var out struct {
		RoleARN string         `json:"role_arn"`
		Role    map[string]any `json:"role"`
	}
	h.json("POST", Prefix+"/sagemaker/setup", `{"role_name":"SageTrainApiRole"}`, 200, &out)
	if !strings.HasSuffix(out.RoleARN, ":role/SageTrainApiRole") || out.Role["created"] != true {
		t.Fatalf("setup = %v", out)
	}
	got, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("SageTrainApiRole")})
	if err != nil || !strings.Contains(aws.ToString(got.Role.AssumeRolePolicyDocument), "sagemaker") {
		t.Fatalf("role in IAM: %v %+v", err, got)
	}
	// A request the setup cannot satisfy is the client's error, not a 503.
	code, raw, _ := h.do("POST", Prefix+"/sagemaker/setup", testToken, strings.NewReader(`{"region":"eu-west-3"}`))
	if code != 422 {
		t.Fatalf("setup in another region = %d %s, want 422", code, raw)
	}
	var ready map[string]any
	h.json("GET", "/readyz", "", 200, &ready)
	if ready["checks"].(map[string]any)["aws"] != "ok" {
		t.Fatalf("readyz = %v", ready)
	}
	code, b, _ := h.do("GET", "/metrics", testToken, nil)
	for _, want := range []string{`sagetrain_aws_calls_total{operation="GetCallerIdentity",service="STS"}`, `sagetrain_aws_calls_total{operation="CreateRole",service="IAM"}`} {
		if code != 200 || !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(b), "sagetrain_aws"))
		}
	}
	// moto stopped: AWS no longer answers, which is a 503, not a 500.
	m.Stop()
	code, raw, _ = h.do("GET", Prefix+"/environments/status?environment=sagemaker", testToken, nil)
	if code != 503 || errorCode(t, raw) != "aws_not_configured" {
		t.Fatalf("status with AWS down = %d %s", code, raw)
	}
}
