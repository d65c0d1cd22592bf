package awssetup

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/sagetrain/sagetrain/internal/errs"
	"github.com/sagetrain/sagetrain/internal/testpeer"
)

func TestTrustPolicyStatement(t *testing.T) {
	d := TrustPolicy("123456789012")
	if d.Version != "2012-10-17" || len(d.Statement) != 1 {
		t.Fatalf("trust policy: %+v", d)
	}
	s := d.Statement[0]
	if s.Effect != "Allow" || !reflect.DeepEqual(s.Action, []string{"sts:AssumeRole"}) ||
		s.Principal["Service"] != "sagemaker.amazonaws.com" || len(s.Principal) != 1 || s.Resource != nil {
		t.Errorf("trust statement: %+v", s)
	}
	if !reflect.DeepEqual(s.Condition, map[string]map[string]any{"StringEquals": {"aws:SourceAccount": "123456789012"}}) {
		t.Errorf("trust condition: %+v", s.Condition)
	}
	if !TrustsSageMaker(url.QueryEscape(d.JSON())) || !TrustsSageMaker(d.JSON()) {
		t.Error("TrustsSageMaker does not recognise our own trust policy")
	}
	other := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}}`
	if TrustsSageMaker(other) {
		t.Error("an EC2 trust policy counted as trusting SageMaker")
	}
	list := `{"Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","sagemaker.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}`
	if !TrustsSageMaker(list) {
		t.Error("a list of services with SageMaker was not recognised")
	}
	deny := strings.Replace(list, `"Allow"`, `"Deny"`, 1)
	if TrustsSageMaker(deny) {
		t.Error("a Deny statement counted as trust")
	}
}

func TestInlinePolicyStatements(t *testing.T) {
	d := InlinePolicy(RoleScope{Bucket: "b", InputPrefix: "/in/", OutputPrefix: "out", CheckpointPrefix: "ckpt",
		Repository: "sagetrain", Account: "123456789012", Region: "eu-west-1"})
	want := []Statement{
		{Sid: "ListTrainingPrefixes", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{"arn:aws:s3:::b"},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []string{"in", "in/*", "ckpt", "ckpt/*"}}}},
		{Sid: "ReadTrainingData", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{"arn:aws:s3:::b/in/*", "arn:aws:s3:::b/ckpt/*"}},
		{Sid: "WriteTrainingOutput", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: []string{"arn:aws:s3:::b/out/*", "arn:aws:s3:::b/ckpt/*"}},
		{Sid: "PullTrainingImage", Effect: "Allow", Action: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"},
			Resource: []string{"arn:aws:ecr:eu-west-1:123456789012:repository/sagetrain"}},
		{Sid: "RegistryLogin", Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: []string{"*"}},
		{Sid: "WriteTrainingLogs", Effect: "Allow", Action: []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
			Resource: []string{"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs", "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/TrainingJobs:*"}},
		{Sid: "PublishTrainingMetrics", Effect: "Allow", Action: []string{"cloudwatch:PutMetricData"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}}},
	}
	if len(d.Statement) != len(want) {
		t.Fatalf("%d statements, want %d", len(d.Statement), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(d.Statement[i], want[i]) {
			t.Errorf("statement %d:\n got %+v\nwant %+v", i, d.Statement[i], want[i])
		}
	}
	// No statement grants a wildcard action or s3/sagemaker on everything.
	for _, s := range d.Statement {
		for _, a := range s.Action {
			if strings.HasSuffix(a, "*") || strings.HasPrefix(a, "sagemaker:") || a == "s3:DeleteObject" {
				t.Errorf("statement %s grants %s", s.Sid, a)
			}
		}
		for _, r := range s.Resource {
			if r == "*" && s.Sid != "RegistryLogin" && s.Sid != "PublishTrainingMetrics" {
				t.Errorf("statement %s on every resource", s.Sid)
			}
		}
	}
	// Without a checkpoint prefix nothing is granted for checkpoints; in China the partition changes.
	cn := InlinePolicy(RoleScope{Bucket: "b", InputPrefix: "in", OutputPrefix: "out", Repository: "r", Account: "1", Region: "cn-north-1"})
	if got := cn.Statement[2].Resource; !reflect.DeepEqual(got, []string{"arn:aws-cn:s3:::b/out/*"}) {
		t.Errorf("write resources without checkpoints in cn: %v", got)
	}
	var back PolicyDocument
	if err := json.Unmarshal([]byte(d.JSON()), &back); err != nil || len(back.Statement) != 7 {
		t.Errorf("JSON round trip: %v", err)
	}
}

func TestEnsureRole(t *testing.T) {
	t.Setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true") // moto knows AmazonSageMakerFullAccess only then
	m := testpeer.StartMoto(t)
	m.Env(t)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := RoleOptions{Name: "sagetrain-exec", Bucket: "b", InputPrefix: "data", OutputPrefix: "output",
		CheckpointPrefix: "ckpt", Repository: "sagetrain", Grace: -1}
	res, err := EnsureRole(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.PolicyChanged || !strings.HasSuffix(res.ARN, ":role/sagetrain-exec") || res.Account == "" {
		t.Fatalf("first create: %+v", res)
	}
	client := iam.NewFromConfig(cfg)
	got, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(opts.Name), PolicyName: aws.String(InlinePolicyName)})
	if err != nil || !samePolicy(aws.ToString(got.PolicyDocument), res.InlinePolicy) {
		t.Fatalf("inline policy on the role: %v %v", err, got)
	}
	role, _ := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(opts.Name)})
	if !TrustsSageMaker(aws.ToString(role.Role.AssumeRolePolicyDocument)) {
		t.Fatalf("created role's trust: %s", aws.ToString(role.Role.AssumeRolePolicyDocument))
	}

	again, err := EnsureRole(ctx, cfg, opts)
	if err != nil || again.Created || again.PolicyChanged || again.ARN != res.ARN {
		t.Fatalf("second run is not idempotent: %+v %v", again, err)
	}

	// A role that trusts someone else is reported, then repaired on request.
	ec2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2-role"), AssumeRolePolicyDocument: &ec2}); err != nil {
		t.Fatal(err)
	}
	opts.Name = "ec2-role"
	_, err = EnsureRole(ctx, cfg, opts)
	if !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "--repair-trust") {
		t.Fatalf("untrusting role: %v", err)
	}
	opts.RepairTrust, opts.ManagedPolicy = true, true
	res, err = EnsureRole(ctx, cfg, opts)
	if err != nil || !res.TrustRepaired || !res.ManagedPolicy {
		t.Fatalf("repair: %+v %v", res, err)
	}
	role, _ = client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ec2-role")})
	if !TrustsSageMaker(aws.ToString(role.Role.AssumeRolePolicyDocument)) {
		t.Fatal("trust not repaired")
	}
	att, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("ec2-role")})
	if err != nil || len(att.AttachedPolicies) != 1 || !strings.HasSuffix(aws.ToString(att.AttachedPolicies[0].PolicyArn), "AmazonSageMakerFullAccess") {
		t.Fatalf("managed policy: %v %+v", err, att)
	}

	if _, err := EnsureRole(ctx, cfg, RoleOptions{Name: "x"}); !errors.Is(err, errs.ErrConfiguration) || !strings.Contains(err.Error(), "--bucket") {
		t.Fatalf("missing options: %v", err)
	}
}
